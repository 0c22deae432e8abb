//! Headless walk through a lesson in the window (egui_kittest): open the Lessons view, open
//! lesson 1, answer its first prediction with the slider, run, and see the observation with the
//! answer beside the measured value; the panel notices when the live view is changed; in
//! presenter mode Page Down and the arrows move between steps and B blanks the screen.

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui::{ServersimApp, View};
use lessons::format::StepKind;

fn harness(app: ServersimApp) -> Harness<'static, ServersimApp> {
    Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_ui_state(|ui, app: &mut ServersimApp| app.ui(ui), app)
}

/// Run frames until the open lesson's runs have all finished (they run on a background thread).
fn wait_for_runs(h: &mut Harness<'static, ServersimApp>) {
    let started = std::time::Instant::now();
    while !h.state().lessons.open.as_ref().is_some_and(|o| o.all_runs_done()) {
        assert!(started.elapsed().as_secs() < 120, "the lesson's runs did not finish");
        std::thread::sleep(std::time::Duration::from_millis(50));
        h.run_steps(1);
    }
    h.run_steps(2);
}

#[test]
fn a_learner_walks_through_lesson_one() {
    let mut h = harness(ServersimApp::default());
    h.run_steps(2);
    h.get_by_label("Lessons").click();
    h.run_steps(2);
    assert_eq!(h.state().settings.view, View::Lessons);
    let title = lessons::course().remove(0).expect("lesson 1 parses").title;
    h.get_by_label(&title).click();
    h.run_steps(2);
    let lesson = h.state().lessons.open.as_ref().expect("lesson 1 is open").lesson.clone();
    assert_eq!(h.state().lessons.open.as_ref().map(|o| o.step), Some(0));
    // The first step is text; the second is the prediction of the mean latency, a slider.
    assert!(matches!(lesson.steps[0].kind, StepKind::Text(_)));
    let StepKind::Predict(p) = &lesson.steps[1].kind else { panic!("lesson 1's second step is a prediction") };
    h.get_by_label("Next").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Slider, "ms").set_value_accesskit(25.0);
    h.run_steps(2);
    let saved = h.state().settings.lessons.of(lesson.key());
    assert_eq!(saved.answers.get(&p.id), Some(&lessons::Answer::Number(25.0)), "the answer is kept");
    // The run step loads its scenario into the live view.
    h.get_by_label("Next").click();
    h.run_steps(2);
    let StepKind::Run(r) = lesson.steps[2].kind else { panic!("lesson 1's third step is a run") };
    assert_eq!(h.state().rt.scenario.name, lesson.runs[r].scenario.name);
    assert!(h.state().rt.playing, "the run step plays its scenario");
    wait_for_runs(&mut h);
    // The observation shows the answer beside what the run measured, and the claims.
    h.get_by_label("Next").click();
    h.run_steps(3);
    // (Markdown: the bold answer is a label of its own.)
    assert!(h.query_by_label_contains("You predicted").is_some(), "the prediction is shown beside the run");
    // (The live view, still playing, may show a reading of 25 ms too: at least one.)
    assert!(h.query_all_by_label("25 ms").count() >= 1, "the learner's answer is shown");
    assert!(h.query_by_label_contains("the run measured").is_some());
    assert!(h.query_all_by_label("holds").count() >= 2, "the observation's claims are shown as holding");
    assert!(h.query_by_label_contains("no longer matches").is_none());
    // Changing the live view is noticed, and the step's scenario can be restored.
    h.get_by_role_and_label(Role::Slider, "Arrival rate").set_value_accesskit(80.0);
    h.run_steps(2);
    assert!(h.query_by_label_contains("no longer matches").is_some(), "the panel says the live view changed");
    h.get_by_label("Back to the step's scenario").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("no longer matches").is_none());
    assert_eq!(h.state().rt.rate_rps, lesson.runs[r].scenario.load.rate_rps);
}

#[test]
fn presenter_mode_moves_through_scenes_and_blanks() {
    let mut app = ServersimApp::default();
    app.open_lesson(0);
    app.settings.presenter = true;
    let mut h = harness(app);
    h.run_steps(2);
    let step = |h: &Harness<'static, ServersimApp>| h.state().lessons.open.as_ref().map(|o| o.step);
    assert_eq!(step(&h), Some(0));
    h.key_press(egui::Key::PageDown);
    h.run_steps(1);
    assert_eq!(step(&h), Some(1));
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(1);
    assert_eq!(step(&h), Some(2));
    h.key_press(egui::Key::PageUp);
    h.run_steps(1);
    assert_eq!(step(&h), Some(1));
    // The arrow keys move scenes, not the load.
    let rate = h.state().rt.rate_rps;
    h.key_press(egui::Key::ArrowUp);
    h.run_steps(1);
    assert_eq!(step(&h), Some(0));
    assert_eq!(h.state().rt.rate_rps, rate);
    h.key_press(egui::Key::B);
    h.run_steps(1);
    assert!(h.state().lessons.blank);
    assert!(h.query_by_label_contains("Lesson 1").is_none(), "a blank screen shows nothing");
    h.key_press(egui::Key::B);
    h.run_steps(1);
    assert!(h.query_by_label_contains("Lesson 1").is_some());
    // The step reached is saved for next time.
    assert_eq!(h.state().settings.lessons.of(lessons::COURSE[0].0).step, 0);
}

#[test]
fn the_open_lesson_and_step_are_restored() {
    let mut app = ServersimApp::default();
    app.open_lesson(0);
    app.goto_step(3);
    let settings = app.settings.clone();
    let again = ServersimApp::new(settings);
    assert_eq!(again.lessons.open.as_ref().map(|o| o.step), Some(3));
    assert_eq!(again.settings.view, View::Lessons);
}

/// Every step of every lesson renders in the window, at the desk and in presenter mode, with its
/// run's numbers filled in (a glyph missing from the window's fonts fails here, not on stage).
#[test]
fn every_step_of_every_lesson_renders() {
    for (i, (name, _)) in lessons::COURSE.iter().enumerate() {
        let mut app = ServersimApp::default();
        app.open_lesson(i);
        let mut h = harness(app);
        wait_for_runs(&mut h);
        let n = h.state().lessons.open.as_ref().map_or(0, |o| o.lesson.steps.len());
        for presenter in [false, true] {
            h.state_mut().settings.presenter = presenter;
            for s in 0..n {
                h.state_mut().goto_step(s);
                h.run_steps(2);
                assert!(
                    h.query_by_label_contains(&format!("step {} of {n}", s + 1)).is_some(),
                    "{name}: step {} does not show",
                    s + 1
                );
            }
        }
    }
}
