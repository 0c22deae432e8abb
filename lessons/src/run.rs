//! Running a lesson: every run step simulated with the engine (`models::runner`), its results
//! kept as the JSON view `serversim run --json` prints, and every claim, choice and number
//! evaluated on them.

use models::claim::{self, EvalError, MetricRef, Metrics};
use models::runner::{self, JsonReport, Report};

use crate::format::{Lesson, PredictionKind, StepKind};
use crate::text::{Format, format_number};

/// The results of one run step.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The full report (series included, for plots).
    pub report: Report,
    /// Its JSON view's `servers` array: what claims and placeholders read.
    pub servers: Vec<serde_json::Value>,
}

/// Simulate run step `run` of `lesson`.
pub fn run_step(lesson: &Lesson, run: usize) -> RunOutcome {
    outcome(runner::run(&lesson.runs[run].scenario, true))
}

/// The outcome of a finished report.
pub fn outcome(report: Report) -> RunOutcome {
    let json = serde_json::to_value(JsonReport::from_report(&report)).unwrap_or_default();
    let servers = json.get("servers").and_then(|s| s.as_array()).cloned().unwrap_or_default();
    RunOutcome { report, servers }
}

/// The outcomes of a lesson's runs so far (`None`: not run yet).
#[derive(Debug, Clone, Default)]
pub struct Outcomes {
    /// One entry per run step.
    pub runs: Vec<Option<RunOutcome>>,
}

impl Outcomes {
    /// Room for `lesson`'s runs, none run yet.
    pub fn new(lesson: &Lesson) -> Self {
        Outcomes { runs: vec![None; lesson.runs.len()] }
    }

    /// Run every run step (each run uses every core through the engine's own parallelism).
    pub fn run_all(lesson: &Lesson) -> Self {
        Outcomes { runs: (0..lesson.runs.len()).map(|i| Some(run_step(lesson, i))).collect() }
    }

    /// The metrics a step reads: run `current`, and earlier runs by `@id`.
    pub fn metrics<'a>(&'a self, lesson: &'a Lesson, current: usize) -> LessonMetrics<'a> {
        LessonMetrics { lesson, outcomes: self, current }
    }
}

/// Metric values for one step of a lesson.
pub struct LessonMetrics<'a> {
    lesson: &'a Lesson,
    outcomes: &'a Outcomes,
    current: usize,
}

impl Metrics for LessonMetrics<'_> {
    fn value(&self, m: &MetricRef) -> Result<f64, EvalError> {
        let run = match &m.run {
            Some(id) => {
                self.lesson.runs.iter().position(|r| &r.id == id).ok_or_else(|| EvalError(format!("no run `{id}`")))?
            }
            None => self.current,
        };
        let Some(Some(out)) = self.outcomes.runs.get(run) else {
            return Err(EvalError(format!("run `{}` has not been run yet", self.lesson.runs[run].id)));
        };
        claim::JsonMetrics { servers: &out.servers }.lookup(&m.server, &m.path)
    }
}

/// One checked statement of a lesson.
#[derive(Debug, Clone)]
pub struct ClaimResult {
    /// 1-based line in the lesson file.
    pub line: usize,
    /// What is claimed, in words.
    pub says: String,
    /// The check as written.
    pub check: String,
    /// Whether it holds (an evaluation error counts as not holding).
    pub holds: bool,
    /// The values compared, or the evaluation error.
    pub detail: String,
}

/// What a multiple-choice prediction's run picked: the choices whose conditions hold.
pub fn picked(choices: &[crate::format::Choice], m: &dyn Metrics) -> Result<Vec<usize>, EvalError> {
    let mut out = Vec::new();
    for (i, c) in choices.iter().enumerate() {
        if c.when.check(m)?.holds {
            out.push(i);
        }
    }
    Ok(out)
}

/// Check every claim of `lesson` on `outcomes`: each observe step's claims, each multiple-choice
/// prediction (the run picks exactly the expected choice), and each number prediction's
/// `actual` and every text's placeholders (they must evaluate).
pub fn check(lesson: &Lesson, outcomes: &Outcomes) -> Vec<ClaimResult> {
    let mut results = Vec::new();
    let mut current = None;
    for step in &lesson.steps {
        let fill_check = |text: &crate::text::Text, cur: Option<usize>, results: &mut Vec<ClaimResult>| {
            if let Some(cur) = cur
                && text.has_values()
                && let Err(e) = text.fill(&outcomes.metrics(lesson, cur))
            {
                results.push(ClaimResult {
                    line: step.line,
                    says: "the text's numbers can be computed".into(),
                    check: text.source.clone(),
                    holds: false,
                    detail: e.0,
                });
            }
        };
        match &step.kind {
            StepKind::Run(i) => {
                fill_check(&lesson.runs[*i].text, current, &mut results);
                current = Some(*i);
            }
            StepKind::Text(t) | StepKind::Explain(t) => fill_check(t, current, &mut results),
            StepKind::Predict(p) => {
                fill_check(&p.question, current, &mut results);
                let m = outcomes.metrics(lesson, p.run);
                match &p.kind {
                    PredictionKind::Choice { choices, expect } => {
                        let (holds, detail) = match picked(choices, &m) {
                            Ok(got) if got == vec![*expect] => (true, format!("the run picks choice {}", expect + 1)),
                            Ok(got) if got.is_empty() => (false, "the run matches none of the choices".into()),
                            Ok(got) => (
                                false,
                                format!(
                                    "the run matches choice(s) {} instead of {}",
                                    got.iter().map(|g| (g + 1).to_string()).collect::<Vec<_>>().join(", "),
                                    expect + 1
                                ),
                            ),
                            Err(e) => (false, e.0),
                        };
                        results.push(ClaimResult {
                            line: step.line,
                            says: format!(
                                "prediction `{}`: the run picks \"{}\"",
                                p.id,
                                choices.get(*expect).map_or("", |c| c.text.as_str())
                            ),
                            check: choices.get(*expect).map_or(String::new(), |c| c.when.source.clone()),
                            holds,
                            detail,
                        });
                    }
                    PredictionKind::Number { actual, actual_source, min, max, .. } => {
                        let (holds, detail) = match actual.eval(&m) {
                            Ok(v) if (*min..=*max).contains(&v) => {
                                (true, format!("the run measured {}", claim::show(v)))
                            }
                            Ok(v) => (
                                false,
                                format!("the run measured {}, outside the slider's {min}..{max}", claim::show(v)),
                            ),
                            Err(e) => (false, e.0),
                        };
                        results.push(ClaimResult {
                            line: step.line,
                            says: format!("prediction `{}`: the measured answer lies on the slider", p.id),
                            check: actual_source.clone(),
                            holds,
                            detail,
                        });
                    }
                }
            }
            StepKind::Observe(o) => {
                fill_check(&o.text, Some(o.run), &mut results);
                let m = outcomes.metrics(lesson, o.run);
                for c in &o.claims {
                    let (holds, detail) = match c.claim.check(&m) {
                        Ok(v) => (v.holds, v.detail),
                        Err(e) => (false, e.0),
                    };
                    results.push(ClaimResult {
                        line: c.line,
                        says: c.says.clone(),
                        check: c.claim.source.clone(),
                        holds,
                        detail,
                    });
                }
            }
        }
    }
    results
}

/// A learner's answer to a prediction.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The 0-based index of the chosen choice.
    Choice(usize),
    /// The number given.
    Number(f64),
}

/// The learner's answer beside what the run showed, in one line of Markdown.
pub fn compare(p: &crate::format::Prediction, answer: Option<Answer>, m: &dyn Metrics) -> String {
    match &p.kind {
        PredictionKind::Choice { choices, .. } => {
            let got = picked(choices, m).unwrap_or_default();
            let run = got.first().map_or("none of the choices".to_string(), |g| format!("“{}”", choices[*g].text));
            match answer {
                Some(Answer::Choice(a)) if got.contains(&a) => {
                    format!("You predicted “{}”, and so it is: the run shows {run}.", choices[a].text)
                }
                Some(Answer::Choice(a)) if a < choices.len() => {
                    format!("You predicted “{}”; the run shows {run}.", choices[a].text)
                }
                _ => format!("The run shows: {run}."),
            }
        }
        PredictionKind::Number { actual, unit, .. } => {
            let v = match actual.eval(m) {
                Ok(v) => v,
                Err(e) => return format!("(the measured value could not be computed: {})", e.0),
            };
            let shown = format!("{} {unit}", format_number(v, Format::Auto)).trim_end().to_string();
            match answer {
                Some(Answer::Number(a)) => {
                    let off = if v != 0.0 { (a - v) / v.abs() } else { 0.0 };
                    let verdict = if off.abs() <= 0.1 {
                        "within 10%: well predicted".to_string()
                    } else {
                        format!(
                            "{} {}",
                            format_number(off.abs(), Format::Percent(Some(0))),
                            if off > 0.0 { "too high" } else { "too low" }
                        )
                    };
                    format!(
                        "You predicted **{} {unit}**; the run measured **{shown}** ({verdict}).",
                        format_number(a, Format::Auto)
                    )
                }
                _ => format!("The run measured **{shown}**."),
            }
        }
    }
}
