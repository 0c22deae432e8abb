//! The Lessons view: the course list with progress, and a step panel beside the live
//! simulation. A run step loads its scenario into the live view; the numbers a lesson shows come
//! from the lesson's own runs (the same as `serversim lesson run`), computed on a background
//! thread (in the browser, in slices between frames), never from the live view — which the
//! learner may change at will; the panel says when the live view no longer matches the step.

use std::sync::{Arc, Mutex};

use egui::{RichText, Ui};
use egui_commonmark::{CommonMarkCache, CommonMarkViewer};
use lessons::format::{Lesson, Prediction, PredictionKind, StepKind};
use lessons::progress::Progress;
use lessons::run::{self, Answer, Outcomes};

use crate::theme;

/// Green for a claim that holds and a lesson done.
const HOLDS: egui::Color32 = egui::Color32::from_rgb(0, 158, 115);

/// A lesson being taken.
pub struct OpenLesson {
    /// Index into the course.
    pub index: usize,
    /// The lesson.
    pub lesson: Arc<Lesson>,
    /// The step shown (0-based).
    pub step: usize,
    /// The lesson's runs, filled in by the background thread as each finishes.
    pub outcomes: Arc<Mutex<Outcomes>>,
    /// The run whose scenario the live view was loaded with, and that scenario as TOML (to see
    /// when the learner has changed the live view).
    pub loaded: Option<(usize, String)>,
    /// Runs computed in the frames instead of on a thread (the browser): (run, its batch), in
    /// order.
    pending: Vec<(usize, models::runner::Batch)>,
}

impl OpenLesson {
    /// Open lesson `index` of `course` at `step` and start computing its runs: on a thread, or
    /// in the browser (no threads) in slices between frames.
    pub fn new(index: usize, lesson: Lesson, step: usize) -> Self {
        let mut open = Self::in_frames(index, lesson, step);
        if cfg!(not(target_arch = "wasm32")) {
            open.pending.clear();
            let (l, o) = (open.lesson.clone(), open.outcomes.clone());
            // One thread runs the lesson's runs in order; each run uses the engine's own
            // parallelism. Nothing waits for it: the panel shows "computing" until a result is in.
            std::thread::spawn(move || {
                for r in 0..l.runs.len() {
                    let out = run::run_step(&l, r);
                    match o.lock() {
                        Ok(mut g) => g.runs[r] = Some(out),
                        Err(_) => return,
                    }
                }
            });
        }
        open
    }

    /// Open the lesson with its runs computed only as `advance` is called (every frame, in the
    /// browser).
    pub fn in_frames(index: usize, lesson: Lesson, step: usize) -> Self {
        let lesson = Arc::new(lesson);
        let outcomes = Arc::new(Mutex::new(Outcomes::new(&lesson)));
        let pending = (0..lesson.runs.len())
            .map(|r| (r, models::runner::Batch::new(vec![lesson.runs[r].scenario.clone()], true)))
            .collect();
        let step = step.min(lesson.steps.len().saturating_sub(1));
        Self { index, lesson, step, outcomes, loaded: None, pending }
    }

    /// Handle up to `events` events of the runs computed in the frames; true while some remain
    /// (false at once when a thread computes them). A finished run's outcome is the same as
    /// `run::run_step`'s.
    pub fn advance(&mut self, events: u64) -> bool {
        let Some((_, batch)) = self.pending.first_mut() else { return false };
        if batch.advance(events) {
            let (r, batch) = self.pending.remove(0);
            if let (Some(report), Ok(mut g)) =
                (batch.reports().and_then(|v| v.into_iter().next()), self.outcomes.lock())
            {
                g.runs[r] = Some(run::outcome(report));
            }
            if self.pending.is_empty() {
                crate::files::console(&format!("serversim: lesson {} runs done", self.index + 1));
            }
        }
        true
    }

    /// Whether run `r` has finished.
    pub fn has_run(&self, r: usize) -> bool {
        self.outcomes.lock().is_ok_and(|o| o.runs.get(r).is_some_and(|x| x.is_some()))
    }

    /// Whether every run has finished.
    pub fn all_runs_done(&self) -> bool {
        (0..self.lesson.runs.len()).all(|r| self.has_run(r))
    }
}

/// The runtime state of the Lessons view (not saved; progress is in the saved settings).
pub struct LessonsRuntime {
    /// The course, parsed (a bundled lesson that fails to parse shows its error).
    pub course: Vec<Result<Lesson, String>>,
    /// The lesson being taken, if any.
    pub open: Option<OpenLesson>,
    /// The screen is blanked (presenter mode, `B`).
    pub blank: bool,
    cache: CommonMarkCache,
}

impl Default for LessonsRuntime {
    fn default() -> Self {
        Self {
            course: lessons::course().into_iter().map(|r| r.map_err(|e| e.to_string())).collect(),
            open: None,
            blank: false,
            cache: CommonMarkCache::default(),
        }
    }
}

/// What the step panel asks the app to do after drawing.
#[derive(Debug, Clone, PartialEq)]
pub enum LessonAction {
    /// Open lesson `index` of the course.
    Open(usize),
    /// Go to step `step` of the open lesson.
    Goto(usize),
    /// Close the lesson, back to the list.
    Close,
    /// Load the scenario of the current step's run into the live view again.
    Reload,
}

/// A step kind as the panel names it.
fn kind_label(k: &StepKind) -> &'static str {
    match k {
        StepKind::Text(_) => "Read",
        StepKind::Predict(_) => "Predict",
        StepKind::Run(_) => "Run",
        StepKind::Observe(_) => "Observe",
        StepKind::Explain(_) => "Explain",
    }
}

impl LessonsRuntime {
    /// The list of lessons with their progress.
    pub fn list_ui(&self, ui: &mut Ui, progress: &Progress) -> Option<LessonAction> {
        let mut action = None;
        ui.heading("Lessons");
        ui.label(RichText::new("Predict, run, observe, explain. Every number comes from the run.").weak());
        ui.add_space(6.0);
        egui::ScrollArea::vertical().id_salt("lesson-list").show(ui, |ui| {
            for (i, l) in self.course.iter().enumerate() {
                match l {
                    Ok(l) => {
                        let p = progress.of(l.key());
                        let state = if p.done {
                            RichText::new("done").color(HOLDS).strong()
                        } else if p.step > 0 {
                            RichText::new(format!("step {} of {}", p.step + 1, l.steps.len())).weak()
                        } else {
                            RichText::new(format!("{} min", l.minutes)).weak()
                        };
                        // Wrapped, so a long title does not widen the panel over the live view.
                        ui.horizontal_wrapped(|ui| {
                            ui.label(RichText::new(format!("{:>2}.", l.number)).monospace());
                            if ui.link(&l.title).clicked() {
                                action = Some(LessonAction::Open(i));
                            }
                            ui.label(state);
                        });
                    }
                    Err(e) => {
                        ui.label(RichText::new(e).color(theme::ALERT).monospace());
                    }
                }
            }
        });
        action
    }

    /// The open lesson's current step: text, prediction widgets, the observation with the
    /// learner's answers beside it, previous/next. `drifted`: the live view no longer runs the
    /// step's scenario.
    pub fn step_ui(
        &mut self,
        ui: &mut Ui,
        progress: &mut Progress,
        presenter: bool,
        drifted: bool,
    ) -> Option<LessonAction> {
        let Self { open, cache, .. } = self;
        let open = open.as_ref()?;
        let l = open.lesson.clone();
        let step = open.step;
        let n = l.steps.len();
        let mut action = None;
        // Navigation first, so it stays in view.
        ui.horizontal(|ui| {
            if !presenter && ui.button("All lessons").on_hover_text("back to the list").clicked() {
                action = Some(LessonAction::Close);
            }
            ui.label(RichText::new(format!("Lesson {}", l.number)).strong());
            ui.label(RichText::new(format!("step {} of {}", step + 1, n)).weak());
        });
        ui.horizontal(|ui| {
            if ui.add_enabled(step > 0, egui::Button::new("Previous")).on_hover_text("Page Up").clicked() {
                action = Some(LessonAction::Goto(step - 1));
            }
            if ui.add_enabled(step + 1 < n, egui::Button::new("Next")).on_hover_text("Page Down").clicked() {
                action = Some(LessonAction::Goto(step + 1));
            }
        });
        ui.separator();
        ui.label(RichText::new(&l.title).heading());
        ui.label(RichText::new(kind_label(&l.steps[step].kind)).color(theme::server_color(0)).strong());
        let key = l.key().to_string();
        // Held while drawing; the background thread only takes it to store a finished run.
        let Ok(outcomes) = open.outcomes.lock() else { return None };
        let ready = |r: usize| outcomes.runs.get(r).is_some_and(|x| x.is_some());
        let filled = |t: &lessons::text::Text, r: Option<usize>| match r {
            Some(r) if ready(r) => {
                t.fill(&outcomes.metrics(&l, r)).unwrap_or_else(|e| format!("{}\n\n({})", t.unfilled(), e.0))
            }
            _ => t.unfilled(),
        };
        let current = l.current_run(step);
        egui::ScrollArea::vertical().id_salt(("lesson-step", l.number, step)).show(ui, |ui| {
            if step == 0 && !l.source.trim().is_empty() {
                // Where the lesson's question comes from, before its first step.
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.label(RichText::new(format!("{} minutes · the question", l.minutes)).weak());
                    CommonMarkViewer::new().show(ui, cache, &l.source);
                });
                ui.add_space(6.0);
            }
            match &l.steps[step].kind {
                StepKind::Text(t) | StepKind::Explain(t) => {
                    let text = filled(t, current);
                    CommonMarkViewer::new().show(ui, cache, &text);
                }
                StepKind::Predict(p) => {
                    CommonMarkViewer::new().show(ui, cache, &filled(&p.question, current));
                    ui.add_space(8.0);
                    let answers = &mut progress.entry(&key).answers;
                    if let Some(a) = prediction_ui(ui, p, answers.get(&p.id).copied()) {
                        answers.insert(p.id.clone(), a);
                    }
                    ui.add_space(4.0);
                    let note = if answers.contains_key(&p.id) {
                        "Your answer is kept. The run in the next steps shows the outcome."
                    } else if matches!(p.kind, PredictionKind::Number { .. }) {
                        "Move the slider to your answer."
                    } else {
                        "Pick your answer."
                    };
                    ui.label(RichText::new(note).weak());
                }
                StepKind::Run(r) => {
                    let run = &l.runs[*r];
                    CommonMarkViewer::new().show(ui, cache, &filled(&run.text, current));
                    ui.add_space(6.0);
                    ui.label(format!(
                        "The live view now runs “{}”: {} server(s).",
                        run.scenario.name,
                        run.scenario.servers.len()
                    ));
                    if let Some(w) = run.watch_text() {
                        ui.label(RichText::new(w).strong());
                    }
                    if ready(*r) {
                        ui.label(
                            RichText::new("The lesson's run has finished: its numbers are in the next step.").weak(),
                        );
                    } else {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label("Computing the lesson's run…");
                        });
                    }
                }
                StepKind::Observe(o) => {
                    if !ready(o.run) {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label("Computing the lesson's run…");
                        });
                    } else {
                        let m = outcomes.metrics(&l, o.run);
                        let answers = progress.of(&key).answers;
                        for &i in &o.reveals {
                            if let StepKind::Predict(p) = &l.steps[i].kind {
                                let line = run::compare(p, answers.get(&p.id).copied(), &m);
                                egui::Frame::group(ui.style()).show(ui, |ui| {
                                    CommonMarkViewer::new().show(ui, cache, &line);
                                });
                            }
                        }
                        CommonMarkViewer::new().show(ui, cache, &filled(&o.text, Some(o.run)));
                        if !o.claims.is_empty() {
                            ui.add_space(6.0);
                            ui.label(RichText::new("What this run shows").strong());
                            for c in &o.claims {
                                let (ok, detail) = match c.claim.check(&m) {
                                    Ok(v) => (v.holds, v.detail),
                                    Err(e) => (false, e.0),
                                };
                                ui.horizontal_wrapped(|ui| {
                                    let (mark, color) =
                                        if ok { ("holds", HOLDS) } else { ("does not hold", theme::ALERT) };
                                    theme::swatch_ui(ui, color);
                                    ui.label(&c.says).on_hover_text(format!("{}\n{detail}", c.claim.source));
                                    ui.label(RichText::new(mark).color(color).strong());
                                });
                            }
                        }
                    }
                }
            }
            if drifted {
                ui.add_space(8.0);
                egui::Frame::group(ui.style()).fill(ui.visuals().warn_fg_color.gamma_multiply(0.12)).show(ui, |ui| {
                    ui.label(
                        RichText::new(
                            "You have changed the live simulation, so it no longer matches this step. \
                             The lesson's numbers come from its own run of the step's scenario.",
                        )
                        .color(ui.visuals().warn_fg_color),
                    );
                    if ui.button("Back to the step's scenario").clicked() {
                        action = Some(LessonAction::Reload);
                    }
                });
            }
        });
        action
    }
}

/// Radio buttons or a slider for a prediction, showing `answer`; the new answer if the learner
/// gave one this frame.
fn prediction_ui(ui: &mut Ui, p: &Prediction, answer: Option<Answer>) -> Option<Answer> {
    match &p.kind {
        PredictionKind::Choice { choices, .. } => {
            let mut picked = match answer {
                Some(Answer::Choice(a)) => Some(a),
                _ => None,
            };
            let mut changed = false;
            for (i, c) in choices.iter().enumerate() {
                changed |= ui.radio_value(&mut picked, Some(i), &c.text).changed();
            }
            if changed { picked.map(Answer::Choice) } else { None }
        }
        PredictionKind::Number { min, max, step, unit, .. } => {
            let mut v = match answer {
                Some(Answer::Number(v)) => v,
                _ => (min + max) / 2.0,
            };
            let mut s = egui::Slider::new(&mut v, *min..=*max).text(unit.as_str());
            if *step > 0.0 {
                s = s.step_by(*step);
            }
            ui.add(s).changed().then_some(Answer::Number(v))
        }
    }
}
