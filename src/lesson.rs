//! `serversim lesson …`: the course in the terminal — list, show, take a lesson interactively,
//! run one and draw its charts, and check every claim. Glue around the `lessons` crate.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use lessons::format::{Lesson, PredictionKind, StepKind};
use lessons::progress::Progress;
use lessons::run::{self, Answer, Outcomes};
use lessons::text::wrap_markdown;

use crate::BadInputError;

/// Columns the terminal text is wrapped to.
const WIDTH: usize = 88;

/// `serversim lesson [ID | list | show | run | check]`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LessonArgs {
    #[command(subcommand)]
    command: Option<LessonCommand>,
    /// Take lesson ID interactively (its number, e.g. 3, or its name, e.g. event-loop; or a
    /// lesson file): each prediction is asked before the run that answers it.
    id: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum LessonCommand {
    /// List the course: number, title, and whether you have done it.
    List {
        /// One JSON array: [{id, title, steps, predictions, claims}].
        #[arg(long)]
        json: bool,
    },
    /// Print a lesson's text (placeholders for the run's numbers shown as …).
    Show {
        /// Lesson number, name or file.
        id: String,
    },
    /// Run every step of a lesson and print the observations, with no questions asked.
    Run {
        /// Lesson number, name or file.
        id: String,
        /// Also draw each run's charts into this folder (PNG, or SVG with --svg).
        #[arg(long, value_name = "DIR")]
        plots: Option<PathBuf>,
        /// Draw the charts as SVG instead of PNG.
        #[arg(long, requires = "plots")]
        svg: bool,
    },
    /// Check every claim of one lesson, or of the whole course: one line per claim and a final
    /// `N passed, M failed`; exit code 0 only when every claim holds.
    Check {
        /// Lesson numbers, names or files (default: every lesson of the course).
        ids: Vec<String>,
    },
}

/// A lesson as named on the command line: a bundled one or a file.
fn load(id: &str) -> anyhow::Result<Lesson> {
    if let Some((name, src)) = lessons::find(id) {
        return Ok(lessons::parse(src, &format!("lessons/{name}"))?);
    }
    let path = Path::new(id);
    if path.extension().is_some_and(|e| e == "toml") || path.exists() {
        let src = std::fs::read_to_string(path)
            .map_err(|e| BadInputError(format!("cannot read lesson file {}: {e}", path.display())))?;
        return Ok(lessons::parse(&src, &path.display().to_string())?);
    }
    let known: Vec<String> = lessons::COURSE
        .iter()
        .map(|(n, _)| {
            let (num, slug) = lessons::format::split_name(n);
            format!("{num} ({slug})")
        })
        .collect();
    Err(BadInputError(format!("no lesson `{id}`; the course has: {}", known.join(", "))).into())
}

/// The index in the course of the bundled lesson `id` (number or name).
pub fn course_index(id: &str) -> anyhow::Result<usize> {
    let (name, _) = lessons::find(id)
        .ok_or_else(|| BadInputError(format!("no lesson `{id}` in the course; see `serversim lesson list`")))?;
    Ok(lessons::COURSE.iter().position(|(n, _)| *n == name).unwrap_or(0))
}

/// Where the terminal keeps a learner's progress.
fn progress_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SERVERSIM_PROGRESS") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("serversim").join("lessons.json"))
}

fn load_progress() -> Progress {
    let Some(path) = progress_path() else { return Progress::default() };
    match std::fs::read_to_string(&path) {
        Ok(text) => Progress::from_json(&text).unwrap_or_else(|e| {
            eprintln!("serversim: note: {}: {e}", path.display());
            Progress::default()
        }),
        Err(_) => Progress::default(),
    }
}

fn save_progress(p: &Progress) {
    let Some(path) = progress_path() else { return };
    let ok =
        path.parent().is_none_or(|d| std::fs::create_dir_all(d).is_ok()) && std::fs::write(&path, p.to_json()).is_ok();
    if !ok {
        eprintln!("serversim: note: could not save lesson progress to {}", path.display());
    }
}

/// Carry out a `serversim lesson …` command.
pub fn lesson_command(args: &LessonArgs) -> anyhow::Result<()> {
    match (&args.command, &args.id) {
        (Some(LessonCommand::List { json }), _) => list(*json),
        (Some(LessonCommand::Show { id }), _) => show(&load(id)?),
        (Some(LessonCommand::Run { id, plots, svg }), _) => {
            run_through(&load(id)?, plots.as_deref(), if *svg { "svg" } else { "png" })
        }
        (Some(LessonCommand::Check { ids }), _) => check(ids),
        (None, Some(id)) => take(&load(id)?),
        (None, None) => list(false),
    }
}

fn list(json: bool) -> anyhow::Result<()> {
    let progress = load_progress();
    let mut rows = Vec::new();
    for (name, src) in lessons::COURSE {
        let l = lessons::parse(src, &format!("lessons/{name}"))?;
        let (predictions, claims) = l.counts();
        rows.push((l, predictions, claims, progress.of(name).done));
    }
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(l, p, c, _)| {
                serde_json::json!({"id": l.number, "title": l.title, "steps": l.steps.len(), "predictions": p, "claims": c})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for (l, _, _, done) in &rows {
            println!("{:>3}  {:<4} {} ({} min)", l.number, if *done { "done" } else { "" }, l.title, l.minutes);
        }
        println!("\nTake one with `serversim lesson 1`; `serversim lesson show 1` prints its text.");
    }
    Ok(())
}

fn heading(l: &Lesson) -> String {
    format!("Lesson {}: {}\n{}\n", l.number, l.title, "=".repeat(WIDTH.min(l.title.len() + 10)))
}

fn show(l: &Lesson) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    write!(out, "{}\n{}", heading(l), wrap_markdown(&l.source, WIDTH))?;
    for (i, s) in l.steps.iter().enumerate() {
        writeln!(out, "\n--- step {} of {}: {} ---", i + 1, l.steps.len(), kind_name(&s.kind))?;
        match &s.kind {
            StepKind::Text(t) | StepKind::Explain(t) => write!(out, "{}", wrap_markdown(&t.unfilled(), WIDTH))?,
            StepKind::Observe(o) => write!(out, "{}", wrap_markdown(&o.text.unfilled(), WIDTH))?,
            StepKind::Run(r) => {
                write!(out, "{}", wrap_markdown(&l.runs[*r].text.unfilled(), WIDTH))?;
                if let Some(w) = l.runs[*r].watch_text() {
                    writeln!(out, "({w})")?;
                }
            }
            StepKind::Predict(p) => write!(out, "{}", question(p))?,
        }
    }
    Ok(())
}

fn kind_name(k: &StepKind) -> &'static str {
    match k {
        StepKind::Text(_) => "read",
        StepKind::Predict(_) => "predict",
        StepKind::Run(_) => "run",
        StepKind::Observe(_) => "observe",
        StepKind::Explain(_) => "explain",
    }
}

fn question(p: &lessons::format::Prediction) -> String {
    let mut s = wrap_markdown(&p.question.unfilled(), WIDTH);
    match &p.kind {
        PredictionKind::Choice { choices, .. } => {
            for (i, c) in choices.iter().enumerate() {
                s.push_str(&format!("  {}. {}\n", i + 1, c.text));
            }
        }
        PredictionKind::Number { min, max, unit, .. } => {
            s.push_str(&format!("  (a number from {min} to {max} {unit})\n"))
        }
    }
    s
}

/// Run one run step with a note on stderr.
fn simulate(l: &Lesson, run: usize, outcomes: &mut Outcomes) {
    let r = &l.runs[run];
    let sc = &r.scenario;
    eprintln!(
        "serversim: running `{}`: {} server(s), {} s simulated × {} replication(s)…",
        r.id,
        sc.servers.len(),
        sc.run.duration_s,
        sc.run.replications.max(1)
    );
    outcomes.runs[run] = Some(run::run_step(l, run));
}

/// The observation of step `o`, filled from the run, with the predictions it answers and its
/// claims checked.
fn observation(
    l: &Lesson,
    o: &lessons::format::Observe,
    outcomes: &Outcomes,
    answers: &std::collections::BTreeMap<String, Answer>,
) -> String {
    let m = outcomes.metrics(l, o.run);
    let mut s = String::new();
    for &i in &o.reveals {
        if let StepKind::Predict(p) = &l.steps[i].kind {
            s.push_str(&wrap_markdown(&run::compare(p, answers.get(&p.id).copied(), &m), WIDTH));
            s.push('\n');
        }
    }
    match o.text.fill(&m) {
        Ok(t) => s.push_str(&wrap_markdown(&t, WIDTH)),
        Err(e) => s.push_str(&format!("(this text's numbers could not be computed: {})\n", e.0)),
    }
    if !o.claims.is_empty() {
        s.push_str("\nWhat this run shows:\n");
        for c in &o.claims {
            let v = c.claim.check(&m);
            let (mark, detail) = match &v {
                Ok(v) => (if v.holds { "✓" } else { "✗" }, v.detail.clone()),
                Err(e) => ("✗", e.0.clone()),
            };
            s.push_str(&wrap_markdown(&format!("- {mark} {} [{detail}]", c.says), WIDTH));
        }
    }
    s
}

fn run_through(l: &Lesson, plots: Option<&Path>, ext: &str) -> anyhow::Result<()> {
    if let Some(dir) = plots {
        std::fs::create_dir_all(dir).map_err(|e| BadInputError(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut outcomes = Outcomes::new(l);
    let none = Default::default();
    print!("{}", heading(l));
    for s in &l.steps {
        match &s.kind {
            StepKind::Run(r) => {
                print!("\n[run `{}`] {}", l.runs[*r].id, wrap_markdown(&l.runs[*r].text.unfilled(), WIDTH));
                simulate(l, *r, &mut outcomes);
                if let (Some(dir), Some(out)) = (plots, &outcomes.runs[*r]) {
                    let path = dir.join(format!("{:02}-{}-{}.{ext}", l.number, l.slug, l.runs[*r].id));
                    write_charts(&path, l, *r, out)?;
                    println!("(charts: {})", path.display());
                }
            }
            StepKind::Observe(o) => print!("\n{}", observation(l, o, &outcomes, &none)),
            _ => {}
        }
    }
    Ok(())
}

/// Each plot of the window for run `r`, one line per server, from its first replication.
fn write_charts(path: &Path, l: &Lesson, r: usize, out: &lessons::RunOutcome) -> anyhow::Result<()> {
    use charts::{ChartData, ChartLine, export_charts, server_rgb};
    let charts: Vec<ChartData> = models::metrics::PLOTS
        .iter()
        .map(|p| ChartData {
            title: p.title.to_string(),
            y_label: p.y_label.to_string(),
            log_y: false,
            log_x: false,
            lines: out
                .report
                .servers
                .iter()
                .enumerate()
                .map(|(i, s)| ChartLine {
                    name: s.name.clone(),
                    rgb: server_rgb(i),
                    points: coarse(s.series(), p.value),
                    errors: Vec::new(),
                })
                .collect(),
        })
        .collect();
    let windows = out.report.servers.first().map_or(0, |s| s.series().len());
    let group = windows.div_ceil(240).max(1);
    let mut title = format!("Lesson {}, run `{}`: {}", l.number, l.runs[r].id, l.runs[r].scenario.name);
    if group > 1 {
        title.push_str(&format!(" (means of {group} windows)"));
    }
    export_charts(path, &charts, &title, "simulated time (s)")
        .map_err(|e| BadInputError(format!("cannot write chart: {e}")))?;
    Ok(())
}

/// At most 240 points of a series: windows averaged in groups (weighted by their widths), so a
/// long run's chart shows its trend rather than one-second noise.
fn coarse(rows: &[models::metrics::SeriesRow], value: fn(&models::metrics::SeriesRow) -> f64) -> Vec<(f64, f64)> {
    let group = rows.len().div_ceil(240).max(1);
    rows.chunks(group)
        .map(|c| {
            let width: f64 = c.iter().map(|w| w.width_s).sum();
            let mean = c.iter().map(|w| value(w) * w.width_s).sum::<f64>() / width.max(1e-12);
            (c[c.len() - 1].start_s + c[c.len() - 1].width_s, mean)
        })
        .collect()
}

/// Read one line from stdin; `None` at end of input.
fn read_line(prompt: &str) -> Option<String> {
    print!("{prompt}");
    let _ = std::io::stdout().flush();
    let mut s = String::new();
    match std::io::stdin().lock().read_line(&mut s) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(s.trim().to_string()),
    }
}

fn ask(p: &lessons::format::Prediction) -> Option<Answer> {
    print!("{}", question(p));
    loop {
        let line = read_line("your answer> ")?;
        match &p.kind {
            PredictionKind::Choice { choices, .. } => match line.parse::<usize>() {
                Ok(n) if (1..=choices.len()).contains(&n) => return Some(Answer::Choice(n - 1)),
                _ => println!("Type a choice's number, 1 to {}.", choices.len()),
            },
            PredictionKind::Number { min, max, .. } => match line.parse::<f64>() {
                Ok(v) if v.is_finite() && (*min..=*max).contains(&v) => return Some(Answer::Number(v)),
                _ => println!("Type a number from {min} to {max}."),
            },
        }
    }
}

/// Take a lesson: each step in turn, predictions asked on the terminal before their run; with
/// no terminal, straight through with no questions.
fn take(l: &Lesson) -> anyhow::Result<()> {
    let interactive = std::io::stdin().is_terminal();
    let mut progress = load_progress();
    let key = l.key().to_string();
    let mut answers = progress.of(&key).answers;
    let mut outcomes = Outcomes::new(l);
    print!("{}\n{}", heading(l), wrap_markdown(&l.source, WIDTH));
    // A learner who stopped part-way may go on from there; the runs before it are redone
    // (quietly) so later steps have their numbers.
    let saved = progress.of(&key);
    let mut start = 0;
    if interactive && saved.step > 0 && !saved.done {
        let q = format!("\nYou stopped at step {} of {}. Go on from there? [Y/n] ", saved.step + 1, l.steps.len());
        if !read_line(&q).is_some_and(|a| a.eq_ignore_ascii_case("n")) {
            start = saved.step;
            for s in &l.steps[..start] {
                if let StepKind::Run(r) = s.kind {
                    simulate(l, r, &mut outcomes);
                }
            }
        }
    }
    for (i, s) in l.steps.iter().enumerate().skip(start) {
        println!("\n--- {} of {} ---", i + 1, l.steps.len());
        match &s.kind {
            StepKind::Text(t) | StepKind::Explain(t) => {
                let text = match l.current_run(i) {
                    Some(c) => t.fill(&outcomes.metrics(l, c)).unwrap_or_else(|_| t.unfilled()),
                    None => t.unfilled(),
                };
                print!("{}", wrap_markdown(&text, WIDTH));
            }
            StepKind::Predict(p) => {
                if interactive {
                    match ask(p) {
                        Some(a) => {
                            answers.insert(p.id.clone(), a);
                        }
                        None => return Ok(()),
                    }
                } else {
                    print!("{}", question(p));
                }
            }
            StepKind::Run(r) => {
                print!("{}", wrap_markdown(&l.runs[*r].text.unfilled(), WIDTH));
                simulate(l, *r, &mut outcomes);
            }
            StepKind::Observe(o) => print!("{}", observation(l, o, &outcomes, &answers)),
        }
        let entry = progress.entry(&key);
        entry.answers = answers.clone();
        entry.step = i;
        if interactive && i + 1 < l.steps.len() {
            save_progress(&progress);
            if read_line("\n[Enter] next step ").is_none() {
                return Ok(());
            }
        }
    }
    progress.entry(&key).done = true;
    if interactive {
        save_progress(&progress);
    }
    Ok(())
}

/// Check lessons: one line per claim, then `N passed, M failed`.
fn check(ids: &[String]) -> anyhow::Result<()> {
    let lessons: Vec<Lesson> = if ids.is_empty() {
        lessons::course().into_iter().collect::<Result<_, _>>()?
    } else {
        ids.iter().map(|id| load(id)).collect::<anyhow::Result<_>>()?
    };
    let (mut passed, mut failed) = (0, 0);
    let mut out = std::io::stdout().lock();
    for l in &lessons {
        let outcomes = Outcomes::run_all(l);
        for r in run::check(l, &outcomes) {
            let mark = if r.holds { "ok  " } else { "FAIL" };
            writeln!(out, "{mark} {}:{}: {} [{}]", l.file, r.line, r.says, r.detail)?;
            if r.holds {
                passed += 1;
            } else {
                failed += 1;
                writeln!(out, "       check: {}", r.check)?;
            }
        }
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    if failed > 0 {
        return Err(ClaimsFailed(failed).into());
    }
    Ok(())
}

/// Some claims did not hold (exit code 1).
#[derive(Debug)]
pub struct ClaimsFailed(pub usize);

impl std::fmt::Display for ClaimsFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} claim(s) failed", self.0)
    }
}

impl std::error::Error for ClaimsFailed {}
