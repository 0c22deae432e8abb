//! Every scenario file shipped in `models/scenarios/` parses and runs (shortened), and its
//! requests are all accounted for.

mod common;

use common::assert_conserved;
use models::runner::run;

#[test]
fn every_shipped_scenario_parses_and_runs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let mut sc = models::scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        sc.run.duration_s = sc.run.duration_s.min(30.0);
        sc.run.replications = sc.run.replications.min(2);
        for s in run(&sc, false).servers {
            for r in &s.runs {
                assert_conserved(&s.name, r);
            }
        }
        n += 1;
    }
    assert!(n >= 7, "expected the shipped scenarios, found {n}");
}

/// The compiled-in examples are the folder's scenarios, each with the file's text, but for those
/// that read a file beside them (an access log), which a page without files cannot open.
#[test]
fn the_compiled_in_examples_are_the_folder() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut expected = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            if !text.lines().any(|l| l.trim_start().starts_with("log_file")) {
                expected.push((path.file_stem().unwrap().to_string_lossy().into_owned(), text));
            }
        }
    }
    expected.sort();
    let mut compiled: Vec<(String, String)> =
        models::scenario::EXAMPLES.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
    compiled.sort();
    assert_eq!(compiled, expected);
}
