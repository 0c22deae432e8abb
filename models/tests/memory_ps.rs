//! Memory two ways: unique memory (shared pages counted once: what the machine spends) and RSS
//! summed over the processes as `ps` and `top` show it (shared pages counted in every process).
//! Expected numbers are hand calculations, or M/G/∞ theory, in each test's comment.

use models::runner::run_one;
use models::scenario::parse;

fn scenario(load: &str, request: &str, server: &str) -> models::config::Scenario {
    let text = format!(
        "[run]\nduration_s = 400.0\nwarmup_s = 40.0\n[machine]\ncores = 1\n[load]\n{load}\n[[request]]\n{request}\n[[server]]\n{server}\n"
    );
    parse(&text, "memory-ps-test.toml").expect("valid test scenario")
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want} ± {tol}");
}

#[test]
fn ps_counts_shared_pages_in_every_process() {
    // 8 prefork children, each 10 MB of its own plus a 20 MB application, and 10 MB of pages
    // shared with the parent (interpreter and libraries).
    // Imported in every child: unique = 10 (shared, once) + 8 × (10 + 20) = 250 MB; each child's
    // RSS = 10 + 20 + 10 = 40 MB; ps sums 8 × 40 = 320 MB.
    // Preloaded: the application's 20 MB are shared too, so unique = 30 + 8 × 10 = 110 MB, but
    // each child's RSS is still 10 + 30 = 40 MB and ps still sums 320 MB: preloading saves memory
    // that ps does not show.
    let server = |preload: bool| {
        format!(
            "architecture = \"prefork\"\nprocesses = 8\nprocess_mb = 10.0\nshared_mb = 10.0\napp_mb = 20.0\npreload = {preload}\n"
        )
    };
    let load = "arrival = \"poisson\"\nrate_rps = 5.0";
    let each = run_one(&scenario(load, "io_ms = 10.0", &server(false)), 0, 0, false);
    close("unique, imported", each.memory_mean_mb, 250.0, 1e-6);
    close("ps sum, imported", each.rss_sum_mean_mb, 320.0, 1e-6);
    close("ps peak, imported", each.rss_sum_peak_mb, 320.0, 1e-6);
    close("largest RSS, imported", each.largest_process_rss_mean_mb, 40.0, 1e-6);
    let pre = run_one(&scenario(load, "io_ms = 10.0", &server(true)), 0, 0, false);
    close("unique, preloaded", pre.memory_mean_mb, 110.0, 1e-6);
    close("ps sum, preloaded", pre.rss_sum_mean_mb, 320.0, 1e-6);
    close("largest own, preloaded", pre.largest_process_mean_mb, 10.0, 1e-6);
    close("largest RSS, preloaded", pre.largest_process_rss_mean_mb, 40.0, 1e-6);
}

#[test]
fn one_process_shows_the_same_both_ways() {
    // A threaded server is one process: its RSS is all of its memory, 10 + 20 + 5 + 8 × 0.5 =
    // 39 MB, however it is counted.
    let server = "architecture = \"threaded\"\nthreads = 8\nprocess_mb = 10.0\napp_mb = 20.0\nshared_mb = 5.0\nthread_mb = 0.5\n";
    let r = run_one(&scenario("arrival = \"poisson\"\nrate_rps = 5.0", "io_ms = 10.0", server), 0, 0, false);
    close("unique", r.memory_mean_mb, 39.0, 1e-6);
    close("ps sum", r.rss_sum_mean_mb, 39.0, 1e-6);
    close("largest RSS", r.largest_process_rss_mean_mb, 39.0, 1e-6);
}

#[test]
fn cgi_processes_come_and_go_as_m_g_infinity() {
    // CGI with no start-up cost and 50 ms of IO per request, at 40 req/s with room for 1000
    // processes: the processes running form an M/G/∞ queue, N ~ Poisson(ρ = 40 × 0.05 = 2).
    // Each is 10 MB of its own and maps 6 MB of shared pages.
    //   unique = 10 E[N] + 6 P(N > 0)                 = 20 + 6 (1 − e^−2)      = 25.188 MB
    //   ps sum = (10 + 6) E[N]                         = 32 MB
    //   largest process's RSS = 16 P(N > 0)            = 16 (1 − e^−2)          = 13.835 MB
    // 400 s × 40 req/s = 16 000 requests: the time averages are within about 2% of these.
    let server = "architecture = \"cgi\"\nmax_processes = 1000\nstartup_ms = 0.0\nprocess_mb = 10.0\nshared_mb = 6.0\n";
    let r = run_one(&scenario("arrival = \"poisson\"\nrate_rps = 40.0", "io_ms = 50.0", server), 0, 0, false);
    let busy = 1.0 - (-2.0f64).exp();
    close("mean processes", r.mean_processes_alive, 2.0, 0.05);
    close("unique", r.memory_mean_mb, 20.0 + 6.0 * busy, 0.5);
    close("ps sum", r.rss_sum_mean_mb, 32.0, 0.7);
    close("largest RSS", r.largest_process_rss_mean_mb, 16.0 * busy, 0.3);
    // However the processes come and go, ps minus unique is the shared pages counted again in
    // every process but the first: 6 (E[N] − P(N > 0)) = 6 (1 + e^−2) = 6.81 MB.
    close("ps − unique", r.rss_sum_mean_mb - r.memory_mean_mb, 6.0 * (2.0 - busy), 0.2);
}

#[test]
fn series_and_json_carry_the_ps_sum() {
    // The same 8 children as above: every window of the series shows ps = 320 MB and a 40 MB
    // largest process, and --json carries the ps sum beside unique memory.
    let text = "[run]\nduration_s = 20.0\nwarmup_s = 2.0\nwindow_s = 2.0\n[machine]\ncores = 1\n[load]\narrival = \"poisson\"\nrate_rps = 5.0\n[[request]]\nio_ms = 10.0\n[[server]]\narchitecture = \"prefork\"\nprocesses = 8\nprocess_mb = 10.0\nshared_mb = 10.0\napp_mb = 20.0\n";
    let sc = parse(text, "memory-ps-series.toml").expect("valid");
    let report = models::runner::run(&sc, true);
    let csv = models::runner::series_csv(&report);
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    let col = header.iter().position(|h| *h == "rss_sum_mb").expect("rss_sum_mb column");
    let unique = header.iter().position(|h| *h == "memory_mb").expect("memory_mb column");
    let largest = header.iter().position(|h| *h == "largest_process_rss_mb").expect("largest_process_rss_mb column");
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        close("series ps", f[col].parse().expect("number"), 320.0, 1e-6);
        close("series unique", f[unique].parse().expect("number"), 250.0, 1e-6);
        close("series largest RSS", f[largest].parse().expect("number"), 40.0, 1e-6);
    }
    let json = serde_json::to_value(models::runner::JsonReport::from_report(&report)).expect("json");
    let mem = &json["servers"][0]["memory_mb"];
    close("json ps", mem["rss_sum_mean"].as_f64().expect("rss_sum_mean"), 320.0, 1e-6);
    close("json unique", mem["mean"].as_f64().expect("mean"), 250.0, 1e-6);
    close("json largest RSS", mem["largest_process_rss_mean"].as_f64().expect("largest"), 40.0, 1e-6);
}
