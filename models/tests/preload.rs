//! Preloading the application before forking (gunicorn --preload, mod_python in the Apache
//! parent) versus importing it in every process: memory counted once or per process, and the
//! import's CPU paid by every recycled or respawned process; and the per-process memory series. Expected numbers are hand
//! calculations in each test's comment.

use models::runner::run_one;
use models::scenario::parse;

fn scenario(load: &str, request: &str, server: &str) -> models::config::Scenario {
    let text = format!(
        "[run]\nduration_s = 400.0\nwarmup_s = 40.0\n[machine]\ncores = 1\n[load]\n{load}\n[[request]]\n{request}\n[[server]]\n{server}\n"
    );
    parse(&text, "preload-test.toml").expect("valid test scenario")
}

#[test]
fn a_preloaded_application_is_counted_once() {
    // 10 processes of 10 MB each plus a 40 MB application and 5 MB shared by the parent.
    // Imported in every child: 5 + 10 × (10 + 40) = 505 MB. Preloaded: the application's pages
    // are shared, 5 + 40 + 10 × 10 = 145 MB. No request holds memory, so these are constant.
    let server = |preload: bool| {
        format!(
            "architecture = \"prefork\"\nprocesses = 10\nprocess_mb = 10.0\nshared_mb = 5.0\napp_mb = 40.0\npreload = {preload}\n"
        )
    };
    let load = "arrival = \"poisson\"\nrate_rps = 5.0";
    let each = run_one(&scenario(load, "io_ms = 10.0", &server(false)), 0, 0, false);
    assert!((each.memory_mean_mb - 505.0).abs() < 1e-6, "{}", each.memory_mean_mb);
    let pre = run_one(&scenario(load, "io_ms = 10.0", &server(true)), 0, 0, false);
    assert!((pre.memory_mean_mb - 145.0).abs() < 1e-6, "{}", pre.memory_mean_mb);
    // Per process: 50 MB each when every child imports, 10 MB when preloaded; 10 running.
    assert!((each.largest_process_mean_mb - 50.0).abs() < 1e-6, "{}", each.largest_process_mean_mb);
    assert!((pre.largest_process_mean_mb - 10.0).abs() < 1e-6, "{}", pre.largest_process_mean_mb);
    assert!((pre.mean_processes_alive - 10.0).abs() < 1e-9);
}

#[test]
fn a_leaking_process_shows_as_the_largest_process() {
    // One 10 MB process, a request every 0.1 s each leaking 1 MB (1024 KB): it grows by 10 MB a
    // second. Measured from 40 s to 440 s its mean size is its size at the middle, 240 s:
    // 10 + 10 × 240 = 2410 MB (± one request's leak at the edges).
    let server = "architecture = \"prefork\"\nprocesses = 1\nprocess_mb = 10.0\n";
    let r = run_one(
        &scenario("arrival = \"uniform\"\nrate_rps = 10.0", "io_ms = 1.0\nleak_kb = 1024.0", server),
        0,
        0,
        false,
    );
    assert!((r.largest_process_mean_mb - 2410.0).abs() < 2.0, "{}", r.largest_process_mean_mb);
}

#[test]
fn recycled_processes_pay_the_import_unless_preloaded() {
    // One process recycled after every request (max_requests = 1). A request needs 10 ms of CPU;
    // restarting costs spawn_ms = 10 ms (the fork) plus import_ms = 100 ms unless preloaded. Under
    // an overload of 20 req/s (backlog 10, so the queue never empties), the process serves one
    // request per 10 + 10 + 100 = 120 ms: 8.33 req/s. Preloaded: one per 10 + 10 = 20 ms, capacity
    // 50 req/s, so it keeps up with the 20 req/s offered.
    let server = |preload: bool| {
        format!(
            "architecture = \"prefork\"\nprocesses = 1\nlisten_backlog = 10\nmax_requests = 1\nspawn_ms = 10.0\nimport_ms = 100.0\napp_mb = 40.0\npreload = {preload}\n"
        )
    };
    let load = "arrival = \"uniform\"\nrate_rps = 20.0";
    let each = run_one(&scenario(load, "cpu_ms = 10.0", &server(false)), 0, 0, false);
    assert!((each.throughput_rps - 1.0 / 0.12).abs() < 0.05, "{}", each.throughput_rps);
    let pre = run_one(&scenario(load, "cpu_ms = 10.0", &server(true)), 0, 0, false);
    assert!((pre.throughput_rps - 20.0).abs() < 0.05, "{}", pre.throughput_rps);
}

#[test]
fn a_respawned_process_imports_before_it_serves() {
    // Every request crashes its process (prefork, one process, respawn after 100 ms). Without
    // preloading the new process then imports for 200 ms of CPU before it takes the next
    // request; each cycle is 10 ms of work + 100 ms respawn + 200 ms import = 310 ms, so under
    // overload it gets through 1 / 0.31 = 3.23 requests/s (each one crashing). Preloaded: 110 ms,
    // 9.09/s.
    let server = |preload: bool| {
        format!(
            "architecture = \"prefork\"\nprocesses = 1\nlisten_backlog = 10\nrespawn_ms = 100.0\nimport_ms = 200.0\npreload = {preload}\n"
        )
    };
    let load = "arrival = \"uniform\"\nrate_rps = 20.0";
    let request = "cpu_ms = 10.0\ncrash_fraction = 1.0";
    let measured = 400.0;
    let each = run_one(&scenario(load, request, &server(false)), 0, 0, false);
    let rate = each.counts.crashes as f64 / measured;
    assert!((rate - 1.0 / 0.31).abs() < 0.02, "{rate}");
    let pre = run_one(&scenario(load, request, &server(true)), 0, 0, false);
    let rate = pre.counts.crashes as f64 / measured;
    assert!((rate - 1.0 / 0.11).abs() < 0.02, "{rate}");
}
