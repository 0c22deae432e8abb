//! The course's checks: every claim of every lesson holds (so an engine change that makes one
//! false fails the build), the example scenarios' claims hold, claims can fail, the lesson folder
//! and the bundled list agree, and broken lesson files get located errors, never a panic.

use std::path::{Path, PathBuf};

use lessons::format::StepKind;
use lessons::{Outcomes, run};

fn lessons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

#[test]
fn every_claim_of_the_course_holds() {
    let mut failures = Vec::new();
    let mut total = 0;
    for lesson in lessons::course() {
        let lesson = lesson.unwrap_or_else(|e| panic!("a bundled lesson does not parse:\n{e}"));
        let (predictions, claims) = lesson.counts();
        assert!(predictions >= 1, "{}: a lesson asks at least one prediction", lesson.file);
        assert!(claims >= 2, "{}: a lesson makes at least two claims", lesson.file);
        assert!((10..=20).contains(&lesson.minutes), "{}: a lesson takes a learner 10 to 20 minutes", lesson.file);
        let outcomes = Outcomes::run_all(&lesson);
        for r in run::check(&lesson, &outcomes) {
            total += 1;
            if !r.holds {
                failures.push(format!("{}:{}: {} [{}]\n    check: {}", lesson.file, r.line, r.says, r.detail, r.check));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {total} claims failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_folder_and_the_course_list_agree() {
    let mut files: Vec<String> = std::fs::read_dir(lessons_dir())
        .expect("the lessons folder")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".toml") && lessons::format::split_name(n).0 > 0)
        .collect();
    files.sort();
    let listed: Vec<&str> = lessons::COURSE.iter().map(|(n, _)| *n).collect();
    assert_eq!(files, listed, "every lessons/*.toml is in COURSE (lessons/src/lib.rs), in order");
    for (i, (name, src)) in lessons::COURSE.iter().enumerate() {
        let on_disk = std::fs::read_to_string(lessons_dir().join(name)).expect("lesson file");
        assert_eq!(&on_disk, src, "{name}: the bundled text is the file's");
        let (number, _) = lessons::format::split_name(name);
        assert_eq!(number as usize, i + 1, "{name}: lessons are numbered 1, 2, 3, … in order");
    }
}

/// A lesson whose scenario is changed makes the claims that depended on it fail: the claims are
/// real checks of the run, not decorations.
#[test]
fn claims_fail_when_the_scenario_changes() {
    let (name, src) = lessons::COURSE[0];
    // Lesson 1 with 15 ms of work per request instead of 10: utilisation 0.75, not 0.5.
    let changed =
        src.replacen("cpu_ms = { dist = \"exp\", mean = 10.0 }", "cpu_ms = { dist = \"exp\", mean = 15.0 }", 1);
    assert_ne!(changed, src, "the test's edit applies to lesson 1");
    let lesson = lessons::parse(&changed, name).expect("the changed lesson parses");
    let results = run::check(&lesson, &Outcomes::run_all(&lesson));
    let failed: Vec<&str> = results.iter().filter(|r| !r.holds).map(|r| r.says.as_str()).collect();
    for expected in [
        "the worker is busy half of the time",
        "the mean latency is twice the work",
        "past capacity the server completes",
    ] {
        assert!(failed.iter().any(|f| f.starts_with(expected)), "`{expected}` should fail; failed: {failed:#?}");
    }
    // Little's law holds whatever the scenario.
    assert!(!failed.iter().any(|f| f.starts_with("Little's law")), "{failed:#?}");
}

/// The GIL lesson with the GIL turned off from the start: its claims that one process's threads
/// get one core fail.
#[test]
fn the_gil_lessons_claims_fail_without_the_gil() {
    let (name, src) = lessons::find("the-gil").expect("the GIL lesson is in the course");
    let changed = src.replace("gil = true", "gil = false");
    assert_ne!(changed, src);
    let lesson = lessons::parse(&changed, name).expect("the changed lesson parses");
    let results = run::check(&lesson, &Outcomes::run_all(&lesson));
    let failed: Vec<&str> = results.iter().filter(|r| !r.holds).map(|r| r.says.as_str()).collect();
    assert!(failed.iter().any(|f| f.starts_with("one GIL, one core")), "{failed:#?}");
    assert!(failed.len() >= 3, "a lesson about the GIL rests on it in several claims: {failed:#?}");
}

#[test]
fn every_example_scenario_states_checked_claims() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("models/scenarios")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for f in &files {
        let sc = models::scenario::load(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        if sc.claims.is_empty() {
            failures.push(format!("{}: states no [[claim]] about its outcome", f.display()));
            continue;
        }
        let report = models::runner::run(&sc, false);
        for c in models::runner::check_claims(&sc, &report) {
            if !c.holds {
                failures.push(format!("{}:{}: {} [{}]", f.display(), c.claim.line, c.claim.says, c.detail));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The first problem of a broken lesson text.
fn problem(src: &str) -> models::scenario::Problem {
    match lessons::parse(src, "broken.toml") {
        Ok(_) => panic!("expected an error for:\n{src}"),
        Err(e) => e.problems().first().cloned().expect("a located problem"),
    }
}

const BASE: &str = "title = \"t\"\nminutes = 10\nscenario = '''\nname = \"s\"\n[load]\narrival = \"poisson\"\nrate_rps = 10.0\n[[request]]\nname = \"r\"\ncpu_ms = 1.0\n[[server]]\nname = \"a\"\narchitecture = \"threaded\"\nthreads = 2\n'''\n";

#[test]
fn broken_lessons_are_located_and_explained() {
    // A lesson that is fine, as the base of the broken ones.
    let ok = format!(
        "{BASE}[[step]]\nrun = \"r1\"\n[[step]]\nobserve = \"{{a.throughput_rps}}\"\n[[step.claim]]\nsays = \"x\"\ncheck = \"a.throughput_rps > 0\"\n"
    );
    lessons::parse(&ok, "ok.toml").expect("the base lesson parses");
    // An unknown field, with a suggestion.
    let p = problem(&format!("{BASE}[[step]]\ntext = \"x\"\nqestion = \"y\"\n"));
    assert!(p.message.contains("did you mean `question`"), "{p}");
    assert_eq!(p.line, 18);
    // An error inside the embedded scenario names the lesson file's own line.
    let p = problem(&BASE.replace("threads = 2", "threads = 0"));
    assert_eq!((p.file.as_str(), p.line), ("broken.toml", 14), "{p}");
    assert!(p.field.contains("threads"), "{p}");
    // A claim that does not parse, at its line and character.
    let p = problem(&ok.replace("a.throughput_rps > 0", "a.throughput_rps ~ 3"));
    assert!(p.message.contains("within"), "{p}");
    assert_eq!(p.line, 22);
    // A metric of a server the run does not have.
    let p = problem(&ok.replace("a.throughput_rps > 0", "b.throughput_rps > 0"));
    assert!(p.message.contains("no server `b`") && p.message.contains("'a'"), "{p}");
    // A set path to a missing server, and a set that makes the scenario invalid.
    let p = problem(&ok.replace("run = \"r1\"", "run = \"r1\"\nset = { \"server[z].threads\" = 3 }"));
    assert!(p.message.contains("`a`") && p.field.contains("set"), "{p}");
    let p = problem(&ok.replace("run = \"r1\"", "run = \"r1\"\nset = { \"server[a].threads\" = 0 }"));
    assert!(p.message.contains("invalid") && p.message.contains("threads"), "{p}");
    // A server to watch that the run does not have.
    let p = problem(&ok.replace("run = \"r1\"", "run = \"r1\"\nfocus = [\"b\"]"));
    assert!(p.message.contains("no server `b`") && p.field.contains("focus"), "{p}");
    // A step with two kinds, and an observe before any run.
    let p = problem(&format!("{BASE}[[step]]\ntext = \"x\"\nexplain = \"y\"\n"));
    assert!(p.message.contains("exactly one of"), "{p}");
    let p = problem(&format!("{BASE}[[step]]\nobserve = \"x\"\n"));
    assert!(p.message.contains("run step before it"), "{p}");
    // A prediction with no run after it, and a choice's expect out of range.
    let p = problem(&format!(
        "{BASE}[[step]]\npredict = \"q\"\nquestion = \"?\"\nnumber = {{ min = 0.0, max = 1.0 }}\nactual = \"a.throughput_rps\"\n"
    ));
    assert!(p.message.contains("no run step after it"), "{p}");
    let p = problem(&ok.replace(
        "[[step]]\nrun",
        "[[step]]\npredict = \"q\"\nquestion = \"?\"\nchoices = [{ text = \"x\", when = \"a.throughput_rps > 1\" }, { text = \"y\", when = \"a.throughput_rps <= 1\" }]\nexpect = 3\n[[step]]\nrun",
    ));
    assert!(p.message.contains("1 to 2"), "{p}");
    // A placeholder that does not parse.
    let p = problem(&ok.replace("{a.throughput_rps}", "{a.throughput_rps:q}"));
    assert!(p.message.contains("allowed"), "{p}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Any edit of a real lesson either parses or gives located problems — never a panic.
    #[test]
    fn edited_lessons_never_panic(lesson in 0..lessons::COURSE.len(), at in 0.0..1.0f64, cut in 0usize..40, insert in "[ -~\n]{0,12}") {
        let src = lessons::COURSE[lesson].1;
        let mut i = ((src.len() as f64) * at) as usize;
        while !src.is_char_boundary(i) { i -= 1; }
        let mut j = (i + cut).min(src.len());
        while !src.is_char_boundary(j) { j -= 1; }
        let edited = format!("{}{}{}", &src[..i], insert, &src[j..]);
        if let Err(e) = lessons::parse(&edited, "edited.toml") {
            let lines = edited.lines().count().max(1) + 1;
            proptest::prop_assert!(!e.problems().is_empty());
            for p in e.problems() {
                proptest::prop_assert!(p.line >= 1 && p.line <= lines, "{} (file has {} lines)", p, lines);
            }
        }
    }
}

#[test]
fn a_lesson_steps_kinds_are_all_covered_by_the_course() {
    // The course uses every kind of step, so the window and terminal paths for each are exercised.
    let mut seen = [false; 5];
    for l in lessons::course().into_iter().flatten() {
        for s in &l.steps {
            let k = match s.kind {
                StepKind::Text(_) => 0,
                StepKind::Predict(_) => 1,
                StepKind::Run(_) => 2,
                StepKind::Observe(_) => 3,
                StepKind::Explain(_) => 4,
            };
            seen[k] = true;
        }
    }
    assert_eq!(seen, [true; 5]);
}
