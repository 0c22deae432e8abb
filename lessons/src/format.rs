//! Lesson files (TOML): the serde types as written, and their validation into [`Lesson`]. A
//! broken lesson gets what a broken scenario gets — file, line, column, field and what is
//! allowed — and its embedded scenario passes the very validation of a scenario file.

use std::collections::BTreeMap;

use models::claim::{self, Claim, Expr};
use models::config::Scenario;
use models::metrics::PLOTS;
use models::scenario::locate::{FieldPath, Locator, nearest};
use models::scenario::{self, Problem, ScenarioError};
use serde::Deserialize;

use crate::text::Text;

/// A lesson file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLesson {
    title: Option<String>,
    minutes: Option<u32>,
    source: Option<String>,
    scenario: Option<String>,
    step: Option<Vec<RawStep>>,
}

/// One `[[step]]` as written: exactly one of `text`, `predict`, `run`, `observe`, `explain`
/// says what kind it is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    text: Option<String>,
    predict: Option<String>,
    run: Option<String>,
    observe: Option<String>,
    explain: Option<String>,
    // predict
    question: Option<String>,
    choices: Option<Vec<RawChoice>>,
    expect: Option<i64>,
    number: Option<RawNumber>,
    actual: Option<String>,
    // run
    scenario: Option<String>,
    set: Option<toml::Table>,
    watch: Option<Vec<String>>,
    focus: Option<Vec<String>>,
    // observe
    claim: Option<Vec<RawClaim>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChoice {
    text: String,
    when: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNumber {
    min: f64,
    max: f64,
    step: Option<f64>,
    unit: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClaim {
    says: String,
    check: String,
}

/// The kinds of step, with the key that introduces each.
pub const STEP_KINDS: [&str; 5] = ["text", "predict", "run", "observe", "explain"];

/// A validated lesson.
#[derive(Debug, Clone)]
pub struct Lesson {
    /// The lesson's number (from its file name, `03-event-loop.toml` → 3; 0 for a file without
    /// one).
    pub number: u32,
    /// The file name without the number and extension (`event-loop`).
    pub slug: String,
    /// The file it was read from (for messages).
    pub file: String,
    /// Title.
    pub title: String,
    /// How long it takes a learner, minutes.
    pub minutes: u32,
    /// Where in the project's seed material its question comes from.
    pub source: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The scenarios of the run steps, in order (a run step holds an index into this).
    pub runs: Vec<RunSpec>,
}

impl Lesson {
    /// The run whose numbers step `step` shows: an observe step's own run; for other steps the
    /// latest run step before it (a run step's text reads the run before it).
    pub fn current_run(&self, step: usize) -> Option<usize> {
        if let Some(StepKind::Observe(o)) = self.steps.get(step).map(|s| &s.kind) {
            return Some(o.run);
        }
        self.steps[..step.min(self.steps.len())]
            .iter()
            .rev()
            .find_map(|s| if let StepKind::Run(r) = s.kind { Some(r) } else { None })
    }

    /// The run the live view shows during step `step`: the latest run step at or before it, or
    /// the first run before any.
    pub fn live_run(&self, step: usize) -> Option<usize> {
        let upto = (step + 1).min(self.steps.len());
        self.steps[..upto]
            .iter()
            .rev()
            .find_map(|s| if let StepKind::Run(r) = s.kind { Some(r) } else { None })
            .or_else(|| (!self.runs.is_empty()).then_some(0))
    }

    /// The file name (`01-littles-law.toml`): the key of this lesson's saved progress.
    pub fn key(&self) -> &str {
        self.file.rsplit('/').next().unwrap_or(&self.file)
    }

    /// Number of predict steps and of claims (observe steps' claims).
    pub fn counts(&self) -> (usize, usize) {
        let predictions = self.steps.iter().filter(|s| matches!(s.kind, StepKind::Predict(_))).count();
        let claims =
            self.steps.iter().map(|s| if let StepKind::Observe(o) = &s.kind { o.claims.len() } else { 0 }).sum();
        (predictions, claims)
    }
}

/// One step and where it is written.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based line of the step's kind key.
    pub line: usize,
    /// What the step is.
    pub kind: StepKind,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// Explanation before the run.
    Text(Text),
    /// A question asked before the run that answers it.
    Predict(Prediction),
    /// Run a scenario (index into [`Lesson::runs`]).
    Run(usize),
    /// The measured outcome, the predictions beside it, and the claims checked on it.
    Observe(Observe),
    /// Why, with the mechanism named.
    Explain(Text),
}

/// A predict step.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// Its id (kept answers are stored under it).
    pub id: String,
    /// The question (Markdown).
    pub question: Text,
    /// Multiple choice or a number.
    pub kind: PredictionKind,
    /// The run that answers it: the first run step after it.
    pub run: usize,
}

/// How a prediction is answered.
#[derive(Debug, Clone)]
pub enum PredictionKind {
    /// Pick one choice; the run picks the choice whose condition holds.
    Choice {
        /// The choices.
        choices: Vec<Choice>,
        /// 0-based index of the choice the lesson's explanation expects the run to pick (a claim
        /// that `lesson check` verifies).
        expect: usize,
    },
    /// Give a number with a slider.
    Number {
        /// Slider minimum.
        min: f64,
        /// Slider maximum.
        max: f64,
        /// Slider step (0: continuous).
        step: f64,
        /// Unit shown beside the number.
        unit: String,
        /// What the run measured (an expression over its metrics).
        actual: Expr,
        /// The expression as written.
        actual_source: String,
    },
}

/// One choice of a multiple-choice prediction.
#[derive(Debug, Clone)]
pub struct Choice {
    /// What the learner reads.
    pub text: String,
    /// When the run picks it.
    pub when: Claim,
}

/// A run step.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// Its id (`@id` in claims of later steps).
    pub id: String,
    /// What to watch (Markdown).
    pub text: Text,
    /// The scenario it runs, validated.
    pub scenario: Scenario,
    /// The same scenario as TOML text (what the window loads into the live view).
    pub scenario_toml: String,
    /// Plots to watch (ids of `models::metrics::PLOTS`).
    pub watch: Vec<&'static str>,
    /// Servers to watch (names of the run's servers; empty: all).
    pub focus: Vec<String>,
    /// 1-based line of the step.
    pub line: usize,
}

impl RunSpec {
    /// "Watch: Latency p99, Requests waiting of pool" — what the step asks the learner to
    /// watch, if it says.
    pub fn watch_text(&self) -> Option<String> {
        if self.watch.is_empty() && self.focus.is_empty() {
            return None;
        }
        let titles: Vec<&str> =
            self.watch.iter().filter_map(|w| PLOTS.iter().find(|p| p.id == *w).map(|p| p.title)).collect();
        let mut s = format!("Watch: {}", if titles.is_empty() { "the plots".to_string() } else { titles.join(", ") });
        if !self.focus.is_empty() {
            s.push_str(&format!(" of {}", self.focus.join(" and ")));
        }
        Some(s)
    }
}

/// An observe step.
#[derive(Debug, Clone)]
pub struct Observe {
    /// The observation (Markdown with numbers from the run).
    pub text: Text,
    /// The run it observes: the latest run step before it.
    pub run: usize,
    /// What it claims about the run.
    pub claims: Vec<LessonClaim>,
    /// The predictions it answers (indices into [`Lesson::steps`]): those its run answers, if
    /// it is the first observe step of that run.
    pub reveals: Vec<usize>,
}

/// A claim of an observe step.
#[derive(Debug, Clone)]
pub struct LessonClaim {
    /// The claim in words.
    pub says: String,
    /// The claim as checked.
    pub claim: Claim,
    /// 1-based line of its `check`.
    pub line: usize,
}

/// Why a lesson could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LessonError {
    /// The file could not be read.
    #[error("cannot read lesson file {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a valid lesson; one line per problem.
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

impl LessonError {
    /// The problems found (empty for I/O errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            LessonError::Invalid(p) => p,
            LessonError::Io { .. } => &[],
        }
    }
}

/// The number and slug of a lesson file name: `03-event-loop.toml` → (3, "event-loop").
pub fn split_name(file_name: &str) -> (u32, String) {
    let stem = file_name.rsplit('/').next().unwrap_or(file_name);
    let stem = stem.strip_suffix(".toml").unwrap_or(stem);
    match stem.split_once('-') {
        Some((n, rest)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
            (n.parse().unwrap_or(0), rest.to_string())
        }
        _ => (0, stem.to_string()),
    }
}

struct Checker<'a> {
    src: &'a str,
    loc: Locator<'a>,
    file: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn at(&self, path: &FieldPath) -> (usize, usize) {
        self.loc.position(path)
    }

    fn problem(&mut self, path: &FieldPath, message: impl Into<String>) {
        let (line, column) = self.at(path);
        self.problems.push(Problem {
            file: self.file.to_string(),
            line,
            column,
            field: path.to_string(),
            message: message.into(),
        });
    }

    /// A claim or expression error at character `at` of the string at `path`: point at the
    /// string's line (the claim is one line).
    fn expr_problem(&mut self, path: &FieldPath, what: &str, e: &claim::ParseError) {
        let (line, column) = self.at(path);
        self.problems.push(Problem {
            file: self.file.to_string(),
            line,
            column: column + 1 + e.at,
            field: path.to_string(),
            message: format!("{what}: {}", e.message),
        });
    }

    fn text(&mut self, path: &FieldPath, src: &str, ctx: &Ctx<'_>) -> Text {
        match Text::parse(src) {
            Ok(t) => {
                for m in t.metrics() {
                    if let Err(msg) = ctx.check_metric(m) {
                        self.problem(path, format!("placeholder `{{{m}}}`: {msg}"));
                    }
                }
                t
            }
            Err(e) => {
                self.problem(path, format!("placeholder: {e}"));
                Text::plain(src)
            }
        }
    }

    fn claim(&mut self, path: &FieldPath, src: &str, ctx: &Ctx<'_>) -> Option<Claim> {
        match claim::parse_claim(src) {
            Ok(c) => {
                let bad: Vec<String> = c.metrics().iter().filter_map(|m| ctx.check_metric(m).err()).collect();
                for msg in bad {
                    self.problem(path, msg);
                }
                Some(c)
            }
            Err(e) => {
                self.expr_problem(path, "claim", &e);
                None
            }
        }
    }
}

/// What a step may refer to: the runs before it and the servers of the current one.
struct Ctx<'a> {
    runs: &'a [RunSpec],
    current: Option<usize>,
}

impl Ctx<'_> {
    fn check_metric(&self, m: &claim::MetricRef) -> Result<(), String> {
        let run = match &m.run {
            Some(id) => match self.runs.iter().position(|r| &r.id == id) {
                Some(i) => i,
                None => {
                    let ids: Vec<&str> = self.runs.iter().map(|r| r.id.as_str()).collect();
                    return Err(format!(
                        "`{m}`: no run `{id}` before this step; runs so far: {}",
                        if ids.is_empty() { "none".to_string() } else { ids.join(", ") }
                    ));
                }
            },
            None => match self.current {
                Some(i) => i,
                None => return Err(format!("`{m}`: no run step comes before this step, so there is nothing to read")),
            },
        };
        let servers: Vec<&str> = self.runs[run].scenario.servers.iter().map(|s| s.name.as_str()).collect();
        if servers.contains(&m.server.as_str()) {
            Ok(())
        } else {
            let hint = nearest(&m.server, servers.iter().copied())
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            Err(format!(
                "`{m}`: run `{}` has no server `{}`{hint}; its servers: {}",
                self.runs[run].id,
                m.server,
                servers.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
            ))
        }
    }
}

/// Apply `path = value` to a scenario table. `path` is dotted; a segment `server[NAME]` picks
/// the array element whose `name` is NAME, `server[N]` the N-th (0-based), `server[*]` every
/// one. Missing tables and fields are created; a missing array element is an error.
pub fn apply_set(table: &mut toml::Table, path: &str, value: &toml::Value) -> Result<(), String> {
    let segs = split_path(path)?;
    set_in(table, &segs, value, path)
}

#[derive(Debug)]
struct Seg {
    key: String,
    select: Option<String>,
}

fn split_path(path: &str) -> Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    let mut rest = path;
    loop {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let key = &rest[..end];
        if key.is_empty() {
            return Err(format!("`{path}`: empty field name"));
        }
        rest = &rest[end..];
        let select = if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']').ok_or_else(|| format!("`{path}`: `[` without `]`"))?;
            let sel = r[..close].to_string();
            rest = &r[close + 1..];
            Some(sel)
        } else {
            None
        };
        segs.push(Seg { key: key.to_string(), select });
        if rest.is_empty() {
            return Ok(segs);
        }
        rest = rest.strip_prefix('.').ok_or_else(|| format!("`{path}`: expected `.` after `]`"))?;
    }
}

fn set_in(table: &mut toml::Table, segs: &[Seg], value: &toml::Value, path: &str) -> Result<(), String> {
    let (seg, rest) = segs.split_first().expect("paths have at least one segment");
    match (&seg.select, rest.is_empty()) {
        (None, true) => {
            table.insert(seg.key.clone(), value.clone());
            Ok(())
        }
        (None, false) => {
            let entry = table.entry(seg.key.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => set_in(t, rest, value, path),
                _ => Err(format!("`{path}`: `{}` is not a table", seg.key)),
            }
        }
        (Some(sel), _) => {
            let Some(toml::Value::Array(items)) = table.get_mut(&seg.key) else {
                return Err(format!("`{path}`: the scenario has no `[[{}]]` list", seg.key));
            };
            let names: Vec<String> =
                items.iter().map(|v| v.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string()).collect();
            let picked: Vec<usize> = if sel == "*" {
                (0..items.len()).collect()
            } else if let Ok(i) = sel.parse::<usize>() {
                if i < items.len() { vec![i] } else { vec![] }
            } else {
                names.iter().enumerate().filter(|(_, n)| *n == sel).map(|(i, _)| i).collect()
            };
            if picked.is_empty() {
                return Err(format!(
                    "`{path}`: no {} `{sel}`; the scenario has: {}",
                    seg.key,
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ));
            }
            for i in picked {
                let toml::Value::Table(t) = &mut items[i] else {
                    return Err(format!("`{path}`: {}[{i}] is not a table", seg.key));
                };
                if rest.is_empty() {
                    return Err(format!(
                        "`{path}`: name a field of {}[{sel}], e.g. {}[{sel}].threads",
                        seg.key, seg.key
                    ));
                }
                set_in(t, rest, value, path)?;
            }
            Ok(())
        }
    }
}

/// 1-based line on which the text of the string value at `path` starts (after `'''` and the
/// newline TOML trims).
fn content_line(src: &str, loc: &Locator<'_>, path: &FieldPath) -> usize {
    let (line, column) = loc.position(path);
    let line_text = src.lines().nth(line - 1).unwrap_or("");
    let after = line_text.chars().skip(column - 1).collect::<String>();
    let trimmed_newline = (after.starts_with("'''") || after.starts_with("\"\"\"")) && after.trim_end().len() == 3;
    line + usize::from(trimmed_newline)
}

/// Parse and validate a lesson; `file` names it in messages (and gives its number and slug).
pub fn parse(src: &str, file: &str) -> Result<Lesson, LessonError> {
    let raw: RawLesson =
        toml::from_str(src).map_err(|e| LessonError::Invalid(vec![scenario::serde_problem(src, file, &e)]))?;
    let mut c = Checker { src, loc: Locator::new(src), file, problems: Vec::new() };
    let top = FieldPath::default();
    let (number, slug) = split_name(file);
    let title = raw.title.unwrap_or_default();
    if title.trim().is_empty() {
        c.problem(&top.key("title"), "a lesson needs a `title`");
    }
    let minutes = raw.minutes.unwrap_or(0);
    if !(1..=120).contains(&minutes) {
        c.problem(&top.key("minutes"), "`minutes` (how long the lesson takes a learner) must be 1 to 120");
    }
    let source = raw.source.unwrap_or_default();
    // The base scenario, validated exactly as a scenario file, its lines mapped into this file.
    let base: Option<toml::Table> = match &raw.scenario {
        None => {
            c.problem(&top.key("scenario"), "a lesson needs a `scenario = '''…'''` (a scenario file's text)");
            None
        }
        Some(text) => embedded_scenario(&mut c, &top.key("scenario"), text),
    };
    let raw_steps = raw.step.unwrap_or_default();
    if raw_steps.is_empty() {
        c.problem(&top, "a lesson needs at least one `[[step]]`");
    }
    let mut steps: Vec<Step> = Vec::new();
    let mut runs: Vec<RunSpec> = Vec::new();
    let mut current_table = base.clone();
    let mut predict_ids: BTreeMap<String, usize> = BTreeMap::new();
    // Predictions waiting for the run that answers them: (index into steps).
    let mut pending: Vec<usize> = Vec::new();
    for (i, s) in raw_steps.into_iter().enumerate() {
        let path = top.key("step").index(i);
        let kinds: Vec<&str> = [
            // A run step's `text` says what to watch; it does not make the step a text step.
            s.text.as_ref().filter(|_| s.run.is_none()).map(|_| "text"),
            s.predict.as_ref().map(|_| "predict"),
            s.run.as_ref().map(|_| "run"),
            s.observe.as_ref().map(|_| "observe"),
            s.explain.as_ref().map(|_| "explain"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if kinds.len() != 1 {
            c.problem(
                &path,
                format!(
                    "a step has exactly one of {}; this one has {}",
                    STEP_KINDS.join(", "),
                    if kinds.is_empty() { "none".to_string() } else { kinds.join(" and ") }
                ),
            );
            continue;
        }
        let kind = kinds[0];
        let kpath = path.key(kind);
        let line = c.at(&kpath).0;
        let allowed: &[&str] = match kind {
            "predict" => &["question", "choices", "expect", "number", "actual"],
            "run" => &["text", "scenario", "set", "watch", "focus"],
            "observe" => &["claim"],
            _ => &[],
        };
        let present = [
            ("question", s.question.is_some()),
            ("choices", s.choices.is_some()),
            ("expect", s.expect.is_some()),
            ("number", s.number.is_some()),
            ("actual", s.actual.is_some()),
            ("scenario", s.scenario.is_some()),
            ("set", s.set.is_some()),
            ("watch", s.watch.is_some()),
            ("focus", s.focus.is_some()),
            ("claim", s.claim.is_some()),
            ("text", kind != "text" && s.text.is_some()),
        ];
        for (f, here) in present {
            if f == "text" && kind == "run" {
                continue;
            }
            if here && !allowed.contains(&f) {
                c.problem(
                    &path.key(f),
                    format!(
                        "`{f}` does not belong to a {kind} step; a {kind} step takes: {}",
                        if allowed.is_empty() { "nothing else".to_string() } else { allowed.join(", ") }
                    ),
                );
            }
        }
        let ctx = Ctx { runs: &runs, current: runs.len().checked_sub(1) };
        let step = match kind {
            "text" => StepKind::Text(c.text(&kpath, s.text.as_deref().unwrap_or(""), &ctx)),
            "explain" => StepKind::Explain(c.text(&kpath, s.explain.as_deref().unwrap_or(""), &ctx)),
            "predict" => {
                let id = s.predict.clone().unwrap_or_default();
                if id.trim().is_empty() {
                    c.problem(&kpath, "a prediction needs an id, e.g. predict = \"capacity\"");
                }
                if predict_ids.insert(id.clone(), i).is_some() {
                    c.problem(&kpath, format!("prediction id `{id}` is used twice"));
                }
                let question = match &s.question {
                    Some(q) => c.text(&path.key("question"), q, &ctx),
                    None => {
                        c.problem(&kpath, "a predict step needs a `question`");
                        Text::plain("")
                    }
                };
                let kind = match (s.choices, s.number) {
                    (Some(choices), None) => {
                        if s.actual.is_some() {
                            c.problem(&path.key("actual"), "`actual` belongs to a number prediction, not to choices");
                        }
                        if choices.len() < 2 {
                            c.problem(&path.key("choices"), "give at least two choices");
                        }
                        let n = choices.len();
                        let expect = match s.expect {
                            Some(e) if e >= 1 && (e as usize) <= n => e as usize - 1,
                            Some(e) => {
                                c.problem(
                                    &path.key("expect"),
                                    format!("`expect` is a choice's number, 1 to {n}, not {e}"),
                                );
                                0
                            }
                            None => {
                                c.problem(
                                    &kpath,
                                    "a multiple-choice prediction needs `expect` (1-based: the choice the \
                                     explanation expects the run to pick)",
                                );
                                0
                            }
                        };
                        // Conditions read the run that answers the prediction, which is not
                        // known yet: they are checked against it when that run step comes.
                        let choices = choices
                            .into_iter()
                            .enumerate()
                            .filter_map(|(j, ch)| {
                                let p = path.key("choices").index(j).key("when");
                                match claim::parse_claim(&ch.when) {
                                    Ok(when) => Some(Choice { text: ch.text, when }),
                                    Err(e) => {
                                        c.expr_problem(&p, "condition", &e);
                                        None
                                    }
                                }
                            })
                            .collect();
                        PredictionKind::Choice { choices, expect }
                    }
                    (None, Some(num)) => {
                        if s.expect.is_some() {
                            c.problem(
                                &path.key("expect"),
                                "`expect` belongs to choices; a number prediction gives `actual`",
                            );
                        }
                        if !(num.min.is_finite() && num.max.is_finite() && num.min < num.max) {
                            c.problem(&path.key("number"), "`number` needs finite min < max");
                        }
                        let step = num.step.unwrap_or(0.0);
                        if !(step.is_finite() && step >= 0.0) {
                            c.problem(&path.key("number").key("step"), "`step` must be >= 0 (0: continuous)");
                        }
                        let actual_source = s.actual.clone().unwrap_or_default();
                        let actual = match claim::parse_expr(&actual_source) {
                            Ok(e) => e,
                            Err(e) => {
                                c.expr_problem(
                                    &path.key(if s.actual.is_some() { "actual" } else { "predict" }),
                                    "`actual` (what the run measured, e.g. server.throughput_rps)",
                                    &e,
                                );
                                Expr::Number(0.0)
                            }
                        };
                        PredictionKind::Number {
                            min: num.min,
                            max: num.max,
                            step,
                            unit: num.unit.unwrap_or_default(),
                            actual,
                            actual_source,
                        }
                    }
                    _ => {
                        c.problem(
                            &kpath,
                            "a predict step has either `choices` (with `expect`) or `number` (with `actual`)",
                        );
                        PredictionKind::Choice { choices: vec![], expect: 0 }
                    }
                };
                pending.push(steps.len());
                StepKind::Predict(Prediction { id, question, kind, run: usize::MAX })
            }
            "run" => {
                let id = s.run.clone().unwrap_or_default();
                if id.trim().is_empty() || !id.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
                    c.problem(&kpath, "a run's id is a word of letters, digits and _ (claims name it as @id)");
                }
                if runs.iter().any(|r| r.id == id) {
                    c.problem(&kpath, format!("run id `{id}` is used twice"));
                }
                let mut table = match &s.scenario {
                    Some(text) => embedded_scenario(&mut c, &path.key("scenario"), text),
                    None => current_table.clone(),
                };
                if let (Some(t), Some(set)) = (&mut table, &s.set) {
                    for (k, v) in set {
                        if let Err(e) = apply_set(t, k, v) {
                            c.problem(&path.key("set").key(k), e);
                        }
                    }
                }
                let watch: Vec<&'static str> = s
                    .watch
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .filter_map(|(j, w)| match PLOTS.iter().find(|p| p.id == w) {
                        Some(p) => Some(p.id),
                        None => {
                            let ids: Vec<&str> = PLOTS.iter().map(|p| p.id).collect();
                            c.problem(&path.key("watch").index(j), format!("no plot `{w}`; plots: {}", ids.join(", ")));
                            None
                        }
                    })
                    .collect();
                let text = c.text(&path.key("text"), s.text.as_deref().unwrap_or(""), &ctx);
                current_table = table.clone();
                let Some(table) = table else { continue };
                let scenario_toml = toml::to_string(&table).unwrap_or_default();
                let scenario = match scenario::parse(&scenario_toml, &format!("{file}, run `{id}`")) {
                    Ok(sc) => sc,
                    Err(e) => {
                        // The base scenario was valid, so a `set` made it invalid: say which
                        // scenario field, at the step.
                        let where_ = if s.set.is_some() { path.key("set") } else { kpath.clone() };
                        for p in e.problems() {
                            c.problem(
                                &where_,
                                format!("the scenario this step runs is invalid: {}: {}", p.field, p.message),
                            );
                        }
                        if let ScenarioError::Io { .. } = e {
                            c.problem(&where_, e.to_string());
                        }
                        continue;
                    }
                };
                let run_index = runs.len();
                for &p in &pending {
                    if let StepKind::Predict(pred) = &mut steps[p].kind {
                        pred.run = run_index;
                    }
                }
                let focus = s.focus.clone().unwrap_or_default();
                let names: Vec<&str> = scenario.servers.iter().map(|sv| sv.name.as_str()).collect();
                for (j, f) in focus.iter().enumerate() {
                    if !names.contains(&f.as_str()) {
                        c.problem(
                            &path.key("focus").index(j),
                            format!("no server `{f}` in this run; its servers: {}", names.join(", ")),
                        );
                    }
                }
                runs.push(RunSpec { id, text, scenario, scenario_toml, watch, focus, line });
                // Choice conditions of the predictions this run answers now have servers to name.
                let ctx = Ctx { runs: &runs, current: Some(run_index) };
                for &p in &pending {
                    if let StepKind::Predict(pred) = &steps[p].kind {
                        let metrics: Vec<claim::MetricRef> = match &pred.kind {
                            PredictionKind::Choice { choices, .. } => {
                                choices.iter().flat_map(|ch| ch.when.metrics()).cloned().collect()
                            }
                            PredictionKind::Number { actual, .. } => actual.metrics().into_iter().cloned().collect(),
                        };
                        let ppath = top.key("step").index(predict_ids.get(&pred.id).copied().unwrap_or(0));
                        for m in metrics {
                            if let Err(msg) = ctx.check_metric(&m) {
                                c.problem(&ppath, msg);
                            }
                        }
                    }
                }
                pending.clear();
                StepKind::Run(run_index)
            }
            _ => {
                // observe
                let Some(current) = ctx.current else {
                    c.problem(&kpath, "an observe step needs a run step before it");
                    continue;
                };
                let text = c.text(&kpath, s.observe.as_deref().unwrap_or(""), &ctx);
                let claims = s
                    .claim
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                    .filter_map(|(j, rc)| {
                        let p = path.key("claim").index(j).key("check");
                        if rc.says.trim().is_empty() {
                            c.problem(&path.key("claim").index(j).key("says"), "say the claim in words in `says`");
                        }
                        let line = c.at(&p).0;
                        c.claim(&p, &rc.check, &ctx).map(|claim| LessonClaim { says: rc.says, claim, line })
                    })
                    .collect();
                StepKind::Observe(Observe { text, run: current, claims, reveals: Vec::new() })
            }
        };
        steps.push(Step { line, kind: step });
    }
    for &p in &pending {
        if let StepKind::Predict(pred) = &steps[p].kind {
            let path = top.key("step").index(predict_ids.get(&pred.id).copied().unwrap_or(0));
            c.problem(&path.key("predict"), format!("prediction `{}` has no run step after it to answer it", pred.id));
        }
    }
    // Each prediction is revealed by the first observe step of the run that answers it.
    let predictions: Vec<(usize, usize)> = steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| if let StepKind::Predict(p) = &s.kind { Some((i, p.run)) } else { None })
        .collect();
    let mut revealed = vec![false; runs.len()];
    for s in &mut steps {
        if let StepKind::Observe(o) = &mut s.kind
            && !std::mem::replace(&mut revealed[o.run], true)
        {
            o.reveals = predictions.iter().filter(|(_, r)| *r == o.run).map(|(i, _)| *i).collect();
        }
    }
    for (i, run) in &predictions {
        if *run < runs.len() && !revealed[*run] {
            let line = steps[*i].line;
            c.problems.push(Problem {
                file: file.to_string(),
                line,
                column: 1,
                field: "step".into(),
                message: "this prediction's run has no observe step after it to show the answer".into(),
            });
        }
    }
    if c.problems.is_empty() {
        Ok(Lesson { number, slug, file: file.to_string(), title, minutes, source, steps, runs })
    } else {
        Err(LessonError::Invalid(c.problems))
    }
}

/// Validate an embedded scenario's text exactly as a scenario file, with its problems' lines
/// mapped into the lesson file; its table if it is valid.
fn embedded_scenario(c: &mut Checker<'_>, path: &FieldPath, text: &str) -> Option<toml::Table> {
    match scenario::parse(text, c.file) {
        Ok(_) => toml::from_str::<toml::Table>(text).ok(),
        Err(e) => {
            let first = content_line(c.src, &c.loc, path);
            for p in e.problems() {
                c.problems.push(Problem {
                    file: c.file.to_string(),
                    line: first + p.line - 1,
                    column: p.column,
                    field: format!("{path}: {}", p.field),
                    message: p.message.clone(),
                });
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_number_and_slug() {
        assert_eq!(split_name("lessons/03-event-loop.toml"), (3, "event-loop".to_string()));
        assert_eq!(split_name("mine.toml"), (0, "mine".to_string()));
    }

    #[test]
    fn set_paths_pick_list_elements() {
        let mut t: toml::Table =
            toml::from_str("[[server]]\nname = \"a\"\nthreads = 1\n[[server]]\nname = \"b c\"\n").unwrap();
        apply_set(&mut t, "server[b c].threads", &toml::Value::Integer(4)).unwrap();
        apply_set(&mut t, "server[*].gil", &toml::Value::Boolean(false)).unwrap();
        apply_set(&mut t, "load.rate_rps", &toml::Value::Float(5.0)).unwrap();
        let s = &t["server"].as_array().unwrap();
        assert_eq!(s[1]["threads"].as_integer(), Some(4));
        assert_eq!(s[0]["threads"].as_integer(), Some(1));
        assert!(s.iter().all(|x| x["gil"].as_bool() == Some(false)));
        assert_eq!(t["load"]["rate_rps"].as_float(), Some(5.0));
        let e = apply_set(&mut t, "server[z].threads", &toml::Value::Integer(4)).unwrap_err();
        assert!(e.contains("`a`") && e.contains("`b c`"), "{e}");
        assert!(apply_set(&mut t, "server[a", &toml::Value::Integer(4)).is_err());
        assert!(apply_set(&mut t, "request[0].x", &toml::Value::Integer(4)).is_err());
    }
}
