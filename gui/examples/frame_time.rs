//! Measures the window's frame time headless: four servers at 2,000 req/s each, driven through
//! egui_kittest (simulation slice + UI layout and tessellation; GPU drawing excluded).
//! Run: `cargo run --release -p gui --example frame_time`

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use gui::ServersimApp;
use gui::runtime::{Runtime, SPEEDS};

/// Four architectures that can each serve 2,000 req/s: 0.4 ms of CPU and 4 ms of IO per request
/// on 8 cores.
const SCENARIO: &str = r#"
name = "Four servers at 2,000 req/s"
[machine]
cores = 8
[load]
arrival = "poisson"
rate_rps = 2000.0
[[request]]
name = "api"
cpu_ms = { dist = "exp", mean = 0.4 }
io_ms = { dist = "exp", mean = 4.0 }
[[server]]
name = "threaded"
architecture = "threaded"
threads = 40
[[server]]
name = "event loop"
architecture = "event_loop"
processes = 4
[[server]]
name = "prefork"
architecture = "prefork"
processes = 40
[[server]]
name = "daemons"
architecture = "daemon"
daemons = 4
threads = 10
"#;

fn measure(speed: usize, label: &str) {
    let sc = models::scenario::parse(SCENARIO, "frame_time").expect("valid");
    let mut app = ServersimApp::default();
    app.rt = Runtime::new(sc, true, speed);
    let h = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .build_ui_state(|ui, app: &mut ServersimApp| app.ui(ui), app);
    measure_frames(h, label);
}

/// The default scenario at maximum speed with every slider dragged to its top: the largest
/// rate, the longest CPU and IO demands, 10% crashes, every client on a modem, 256 processes ×
/// 128 threads per server (the largest pools the window offers) and the largest backlog.
fn measure_extremes() {
    use egui::accesskit::Role;
    use egui_kittest::kittest::Queryable;
    let mut app = ServersimApp::default();
    app.rt.speed = SPEEDS.len() - 1;
    let mut h = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .build_ui_state(|ui, app: &mut ServersimApp| app.ui(ui), app);
    h.run_steps(2);
    let n = h.get_all_by_role(Role::Slider).count();
    for i in 0..n {
        h.get_all_by_role(Role::Slider).nth(i).expect("sliders stay put").set_value_accesskit(1e12);
        h.run_steps(1);
    }
    measure_frames(h, "sliders at their tops");
}

/// The default scenario at 100× after ten hours of simulated time (run headless, outside the
/// frames measured): add a server, which must replay those ten hours, and move the rate slider in
/// the frames that follow, while it catches up.
fn measure_add_server_late() {
    use egui::accesskit::Role;
    use egui_kittest::kittest::Queryable;
    let mut app = ServersimApp::default();
    app.rt.speed = SPEEDS.len() - 2;
    app.rt.run.advance(10.0 * 3600.0, u64::MAX);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .build_ui_state(|ui, app: &mut ServersimApp| app.ui(ui), app);
    h.run_steps(2);
    h.state_mut().add_server();
    // Frames until the new server has caught up, the rate slider moved every tenth frame.
    let mut times = Vec::new();
    let frame = Duration::from_secs_f64(1.0 / 60.0);
    while h.state().rt.run.catch_up_fraction().is_some() && times.len() < 6000 {
        let t0 = Instant::now();
        if times.len() % 10 == 5 {
            let rate = 40.0 + (times.len() / 10 % 40) as f64;
            h.get_by_role_and_label(Role::Slider, "Arrival rate").set_value_accesskit(rate);
        }
        h.step();
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        if let Some(rest) = frame.checked_sub(t0.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{:<24} caught up in {} frames: frame time mean {:5.2} ms  p95 {:5.2} ms  max {:5.2} ms  (clock at {:.0} s)",
        "add server after 10 h",
        times.len(),
        times.iter().sum::<f64>() / times.len().max(1) as f64,
        times.get(times.len() * 95 / 100).copied().unwrap_or(0.0),
        times.last().copied().unwrap_or(0.0),
        h.state().rt.now_s()
    );
    measure_frames(h, "add server after 10 h");
}

fn measure_frames(mut h: Harness<'_, ServersimApp>, label: &str) {
    // Warm up for 3 s of wall time at 60 frames per second, then measure 600 frames.
    let frame = Duration::from_secs_f64(1.0 / 60.0);
    let mut times = Vec::new();
    let start = Instant::now();
    let mut n = 0;
    while times.len() < 600 {
        let t0 = Instant::now();
        h.step();
        let dt = t0.elapsed();
        if start.elapsed() > Duration::from_secs(3) {
            times.push(dt.as_secs_f64() * 1e3);
        }
        n += 1;
        if let Some(rest) = frame.checked_sub(t0.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let p95 = times[times.len() * 95 / 100];
    let max = times[times.len() - 1];
    let sim_t = h.state().rt.now_s();
    println!(
        "{label:<24} frames {n:>5}  frame time mean {mean:5.2} ms  p95 {p95:5.2} ms  max {max:5.2} ms  simulated {sim_t:8.1} s in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

fn main() {
    // `frame_time late` runs only the late-added server's case.
    if std::env::args().nth(1).as_deref() == Some("late") {
        measure_add_server_late();
        return;
    }
    measure(3, "speed 1x");
    measure(SPEEDS.len() - 2, "speed 100x");
    measure(SPEEDS.len() - 1, "speed max");
    measure_extremes();
    measure_add_server_late();
}
