//! Background work computed in the frames (how the web page, which has no threads, runs a
//! lesson's runs and the load sweep) gives what the threads give: the same outcomes, the same
//! points.

use gui::lesson_view::OpenLesson;
use gui::sweep::Sweep;

#[test]
fn a_lesson_computed_in_frames_has_the_outcomes_of_its_runs() {
    let lesson = lessons::course().remove(0).expect("the first lesson parses");
    let expected: Vec<Vec<serde_json::Value>> =
        (0..lesson.runs.len()).map(|r| lessons::run::run_step(&lesson, r).servers).collect();
    let mut open = OpenLesson::in_frames(0, lesson, 0);
    assert!(!open.all_runs_done(), "nothing is computed before the first frame");
    let mut frames = 0;
    while open.advance(20_000) {
        frames += 1;
    }
    assert!(frames > 10, "the runs took many slices ({frames})");
    assert!(open.all_runs_done());
    let got: Vec<Vec<serde_json::Value>> =
        open.outcomes.lock().unwrap().runs.iter().map(|o| o.as_ref().unwrap().servers.clone()).collect();
    assert_eq!(got, expected);
}

#[test]
fn a_sweep_computed_in_frames_draws_the_points_the_threads_do() {
    let scenario = models::scenario::default_scenario();
    let mut threads = Sweep::start(&scenario, 3).unwrap();
    threads.join();
    let mut frames = Sweep::start_in_frames(&scenario, 3).unwrap();
    assert!(!frames.finished());
    while frames.advance(50_000) {}
    assert!(frames.finished());
    assert_eq!(frames.done(), frames.total());
    assert_eq!(*frames.points.lock().unwrap(), *threads.points.lock().unwrap());
    assert!(frames.points.lock().unwrap().iter().flatten().all(Option::is_some));
}
