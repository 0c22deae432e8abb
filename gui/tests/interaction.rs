//! Headless interaction tests (egui_kittest): the window starts on the default scenario, play
//! advances simulated time, the rate slider changes the running simulation, adding a server adds
//! its plot lines, and an invalid scenario file shows an error while the app keeps running.

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui::ServersimApp;
use gui::runtime::SPEEDS;

fn harness(app: ServersimApp) -> Harness<'static, ServersimApp> {
    Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_ui_state(|ui, app: &mut ServersimApp| app.ui(ui), app)
}

/// The app paused at time zero, running as fast as possible when played.
fn paused_app() -> ServersimApp {
    let mut app = ServersimApp::default();
    app.rt.playing = false;
    app.rt.speed = SPEEDS.len() - 1;
    app
}

#[test]
fn starts_with_the_default_scenario() {
    let mut h = harness(ServersimApp::default());
    h.run_steps(2);
    let default = models::scenario::default_scenario();
    assert_eq!(h.state().rt.scenario.name, default.name);
    assert_eq!(h.state().rt.run.servers.len(), default.servers.len());
    for s in &default.servers {
        // Each server appears in the legend, the controls and the table.
        assert!(h.get_all_by_label(&s.name).count() >= 3, "{} not shown", s.name);
    }
}

#[test]
fn clicking_play_advances_simulated_time() {
    let mut h = harness(paused_app());
    h.run_steps(2);
    assert_eq!(h.state().rt.now_s(), 0.0);
    h.get_by_label("Play").click();
    h.run_steps(5);
    let t1 = h.state().rt.now_s();
    assert!(t1 > 0.0, "time did not advance");
    h.get_by_label("Pause").click();
    h.run_steps(3);
    let t2 = h.state().rt.now_s();
    h.run_steps(3);
    assert_eq!(h.state().rt.now_s(), t2, "time advanced while paused");
}

#[test]
fn the_rate_slider_changes_the_running_simulation() {
    let mut h = harness(paused_app());
    h.state_mut().rt.step();
    h.run_steps(2);
    let before = h.state().rt.run.servers[0].sim.model.load.rate_rps();
    assert_eq!(before, models::scenario::default_scenario().load.rate_rps);
    h.get_by_role_and_label(Role::Slider, "Arrival rate").set_value_accesskit(150.0);
    h.run_steps(2);
    for s in &h.state().rt.run.servers {
        assert_eq!(s.sim.model.load.rate_rps(), 150.0, "every running server gets the new rate");
    }
}

#[test]
fn adding_a_server_adds_its_plot_lines() {
    let mut h = harness(paused_app());
    h.run_steps(2);
    let lines = gui::plots::line_count(&h.state().rt);
    // "threaded" is also the architecture tag of the CherryPy server in the controls.
    let before = h.query_all_by_label("threaded").count();
    h.get_by_label("Add server").click();
    h.run_steps(2);
    assert_eq!(h.state().rt.run.servers.len(), 5);
    // Six metrics, its p50 line, and (clients that give up: the default load has a time-out)
    // its served line in the throughput plot.
    let served = usize::from(models::scenario::default_scenario().load.timeout_s.is_some());
    assert_eq!(gui::plots::line_count(&h.state().rt), lines + 7 + served, "six metrics, p50 and served lines");
    // The new server ("threaded", the default choice) shows in the legend, the controls (name and
    // architecture tag) and the table.
    assert_eq!(h.query_all_by_label("threaded").count(), before + 4);
}

#[test]
fn an_invalid_scenario_shows_an_error_and_the_app_keeps_running() {
    let mut h = harness(paused_app());
    h.run_steps(2);
    let bad = "[load]\narrival = \"poisson\"\nrate_rps = 10.0\n[[request]]\ncpu_ms = 1.0\n[[server]]\narchitecture = \"threaded\"\nthread = 4\n";
    h.state_mut().open_scenario_text(bad, "bad.toml");
    h.run_steps(2);
    let error = h.state().error.clone().expect("an error is shown");
    assert!(error.contains("bad.toml:8:1") && error.contains("did you mean `threads`"), "{error}");
    assert!(h.query_by_label_contains("did you mean").is_some(), "the error panel is visible");
    // The previous scenario is still there and still runs.
    assert_eq!(h.state().rt.scenario.name, models::scenario::default_scenario().name);
    h.get_by_label("Play").click();
    h.run_steps(3);
    assert!(h.state().rt.now_s() > 0.0);
    h.get_by_label("Dismiss").click();
    h.run_steps(2);
    assert!(h.state().error.is_none());
}

#[test]
fn the_crash_slider_makes_processes_crash_in_the_running_simulation() {
    let mut h = harness(paused_app());
    h.run_steps(2);
    let crashes = |h: &Harness<'static, ServersimApp>| -> u64 {
        h.state().rt.run.servers.iter().map(|s| s.sim.model.core.recorder.counts().crashes).sum()
    };
    h.state_mut().rt.run.advance(20.0, u64::MAX);
    assert_eq!(crashes(&h), 0, "the default scenario has no crashes");
    // The first "crash" slider belongs to the first request class ("page", 85% of requests).
    h.get_all_by_role_and_label(Role::Slider, "crash").next().unwrap().set_value_accesskit(5.0);
    h.run_steps(2);
    h.state_mut().rt.run.advance(60.0, u64::MAX);
    // 60 req/s × 85% × 5% over 40 s = 102 crashing requests expected, the same ones for every
    // server (one arrival stream). Their number is Poisson, standard deviation √102 ≈ 10, so
    // each server's crashes lie within 102 ± 4 × 10 unless a server loses crashing requests
    // before they run (none of the default scenario's servers is refusing at 60 req/s).
    for s in &h.state().rt.run.servers {
        let n = s.sim.model.core.recorder.counts().crashes;
        assert!((62..=142).contains(&n), "{}: {n} crashes", s.config().name);
    }
}

#[test]
fn the_slow_client_slider_changes_the_running_client_mix() {
    let mut h = harness(paused_app());
    h.state_mut().rt.step();
    h.run_steps(2);
    assert_eq!(h.state().rt.run.servers[0].sim.model.load.slow_client_fraction(), 0.0);
    h.get_by_role_and_label(Role::Slider, "slow clients").set_value_accesskit(30.0);
    h.run_steps(2);
    for s in &h.state().rt.run.servers {
        assert!((s.sim.model.load.slow_client_fraction() - 0.3).abs() < 1e-12);
    }
    // Saving keeps it: 30% of clients on the modem link.
    let saved = h.state().rt.current_scenario();
    let modem = saved.load.clients.iter().find(|c| c.bandwidth_kbps == 56.0).expect("a modem link");
    let total: f64 = saved.load.clients.iter().map(|c| c.weight).sum();
    assert!((modem.weight / total - 0.3).abs() < 1e-12);
}

/// A single step while paused advances one simulated second, in budgeted slices over the frames
/// that follow if one frame's budget cannot do it (it never runs unbounded in one frame).
#[test]
fn a_single_step_reaches_the_next_second_in_budgeted_slices() {
    let mut app = paused_app();
    app.rt.step();
    for _ in 0..1000 {
        if app.rt.now_s() >= 1.0 {
            break;
        }
        app.rt.tick(std::time::Instant::now());
    }
    assert_eq!(app.rt.now_s(), 1.0);
    assert!(!app.rt.playing, "stepping does not start playing");
}

/// A server added after twenty simulated minutes replays them in budgeted slices (half of each
/// frame's budget) while the others keep running, and the window says it is catching up. Once
/// it has caught up it has seen exactly the traffic the others saw (one seeded stream per
/// purpose): a copy of the first server has the first server's time series, window by window.
#[test]
fn a_server_added_late_catches_up_while_the_others_keep_running() {
    let mut app = ServersimApp::default();
    app.rt.speed = SPEEDS.len() - 2;
    app.rt.run.advance(1200.0, u64::MAX);
    let copy = app.rt.scenario.servers[0].clone();
    app.rt.add_server(copy);
    let added = app.rt.run.servers.len() - 1;
    let mut h = harness(app);
    h.run_steps(1);
    assert!(h.state().rt.run.catch_up_fraction().is_some(), "caught up 20 minutes in one frame's budget");
    assert!(h.get_all_by_label_contains("catching up").count() > 0, "the window does not say it is catching up");
    let start = h.state().rt.now_s();
    let mut frames = 0;
    let mut others_moved = false;
    while h.state().rt.run.catch_up_fraction().is_some() {
        // A frame that began with the new server catching up: did the others advance in it?
        // (Checked after every such frame, the last included: the catch-up may end in the same
        // frame in which the others move.)
        h.step();
        others_moved |= h.state().rt.now_s() > start;
        frames += 1;
        assert!(frames < 20_000, "never caught up");
    }
    assert!(others_moved, "the other servers waited for the new one");
    assert_eq!(h.query_all_by_label_contains("catching up").count(), 0);
    let series = |i: usize| h.state().rt.run.servers[i].sim.model.core.recorder.series().to_vec();
    let (first, copy) = (series(0), series(added));
    let done: Vec<_> = first.iter().filter(|r| r.start_s + r.width_s <= 1200.0).collect();
    assert!(done.len() >= 100, "windows: {}", done.len());
    for (a, b) in done.iter().zip(&copy) {
        assert_eq!(*a, b, "window at {} s differs", a.start_s);
    }
}
