//! Nothing a user does in the window makes it panic: broken files dropped on it show the error
//! panel while the simulation keeps running, and every slider dragged to either extreme leaves a
//! running, consistent simulation (the per-frame budget bounds the work; no timing is asserted).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui::ServersimApp;
use gui::runtime::SPEEDS;

fn harness(app: ServersimApp) -> Harness<'static, ServersimApp> {
    Harness::builder().with_size(egui::vec2(1400.0, 900.0)).build_ui_state(|ui, app: &mut ServersimApp| app.ui(ui), app)
}

/// A file dropped on the window, with its contents or a read error.
#[derive(Debug)]
struct Dropped {
    path: PathBuf,
    bytes: Result<Vec<u8>, String>,
}

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.path
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        self.bytes.clone()
    }
}

/// A file name, what reading it gives, and what the error must say.
type BrokenFile = (&'static str, Result<Vec<u8>, String>, &'static str);

fn drop_file(h: &mut Harness<'static, ServersimApp>, name: &str, bytes: Result<Vec<u8>, String>) {
    h.input_mut().dropped_files.push(Arc::new(Dropped { path: PathBuf::from(name), bytes }));
    h.run_steps(2);
}

#[test]
fn broken_files_dropped_on_the_window_show_an_error_and_the_simulation_goes_on() {
    let mut h = harness(ServersimApp::default());
    h.state_mut().rt.speed = SPEEDS.len() - 1;
    h.run_steps(2);
    let default_name = models::scenario::default_scenario().name;
    let broken: Vec<BrokenFile> = vec![
        ("binary.toml", Ok(vec![0xff, 0xfe, 0x00, 0x9f, 0x92, 0x96]), "not UTF-8"),
        ("unreadable.toml", Err("permission denied".into()), "permission denied"),
        ("empty.toml", Ok(Vec::new()), "empty.toml"),
        ("brackets.toml", Ok(b"[[[[[[[[".to_vec()), "brackets.toml:1"),
        ("huge.toml", Ok(b"[load]\narrival = \"poisson\"\nrate_rps = 1e400\n".to_vec()), "huge.toml"),
        (
            "extreme.toml",
            Ok(b"[load]\narrival = \"poisson\"\nrate_rps = 1e9\n[[request]]\ncpu_ms = 1.0\n[[server]]\narchitecture = \"threaded\"\nthreads = 4\n".to_vec()),
            "≤ 1,000,000",
        ),
        (
            "typo.toml",
            Ok(b"[load]\narrival = \"poisson\"\nrate_rps = 10.0\n[[request]]\ncpu_ms = 1.0\n[[server]]\narchitecture = \"threaded\"\nthread = 4\n".to_vec()),
            "did you mean `threads`",
        ),
    ];
    for (name, bytes, says) in broken {
        let before = h.state().rt.now_s();
        drop_file(&mut h, name, bytes);
        let error = h.state().error.clone().unwrap_or_else(|| panic!("{name}: no error shown"));
        assert!(error.contains(name) && error.contains(says), "{name}: {error}");
        assert_eq!(h.state().rt.scenario.name, default_name, "{name}: the running scenario is kept");
        h.run_steps(3);
        assert!(h.state().rt.now_s() > before, "{name}: the simulation stopped");
    }
    // A good file after all that opens normally.
    let good = models::scenario::DEFAULT_SCENARIO.replacen("name = ", "name = \"good\" #", 1);
    drop_file(&mut h, "good.toml", Ok(good.into_bytes()));
    assert!(h.state().error.is_none());
    assert_eq!(h.state().rt.scenario.name, "good");
}

/// Sets every slider in the window to `value` (the sliders clamp it to their range).
fn set_all_sliders(h: &mut Harness<'static, ServersimApp>, value: f64) -> usize {
    let n = h.get_all_by_role(Role::Slider).count();
    for i in 0..n {
        h.get_all_by_role(Role::Slider).nth(i).expect("sliders stay put").set_value_accesskit(value);
        h.run_steps(1);
    }
    n
}

#[test]
fn every_slider_at_either_extreme_keeps_the_simulation_running() {
    let mut h = harness(ServersimApp::default());
    h.state_mut().rt.speed = SPEEDS.len() - 1; // as fast as possible: the frame budget decides
    h.run_steps(2);
    for extreme in [1e12, 0.0, 1e12] {
        let sliders = set_all_sliders(&mut h, extreme);
        assert!(sliders >= 10, "rate, slow clients, per-class and per-server sliders: {sliders}");
        let before = h.state().rt.now_s();
        h.run_steps(20);
        let rt = &h.state().rt;
        assert!(rt.now_s() > before, "the simulation stopped at {extreme}");
        for s in &rt.run.servers {
            let core = &s.sim.model.core;
            for row in core.recorder.series() {
                for v in [row.completed_rps, row.latency_p99_ms, row.waiting, row.cpu_utilization, row.memory_mb] {
                    assert!(v.is_finite() && v >= 0.0, "{}: a series value of {v} at {extreme}", s.config().name);
                }
                assert!(row.cpu_utilization <= 1.0 + 1e-9);
            }
            let c = core.recorder.counts();
            assert!(c.completed + c.rejected + c.timed_out + c.failed <= c.arrived);
        }
    }
    // The rate slider's top is the largest rate the window offers, ten times the scenario's
    // (60 req/s in the default scenario), and every server still running got it.
    let rt = &h.state().rt;
    let top = (rt.scenario.load.rate_rps * 10.0).max(100.0);
    assert_eq!(top, 600.0);
    assert_eq!(rt.rate_rps, top);
    for s in rt.run.servers.iter().filter(|s| s.diverged_at_s().is_none()) {
        assert_eq!(s.sim.model.load.rate_rps(), top, "{} did not get the new rate", s.config().name);
    }
}
