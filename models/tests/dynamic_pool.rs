//! Dynamic pools (Apache's StartServers / MinSpareServers / MaxSpareServers): once a second the
//! parent forks processes while fewer than `min_spare_workers` workers are idle (1, 2, 4, …
//! processes a second) and stops one idle process a second while more than `max_spare_workers`
//! are. Expected numbers are worked out by hand, pass by pass, in each test's comment.

use models::runner::run_one;
use models::scenario::parse;

/// A prefork server given `fields`, with Poisson arrivals at `rate_rps` of 100 ms IO each, for
/// `duration_s`. `rate_rps = 0` means no traffic (evenly spaced arrivals every 1000 s, the first
/// after the run ends).
fn pool(fields: &str, rate_rps: f64, duration_s: f64) -> models::config::Scenario {
    let (arrival, rate_rps) = if rate_rps > 0.0 { ("poisson", rate_rps) } else { ("uniform", 0.001) };
    let text = format!(
        r#"
[run]
duration_s = {duration_s}
warmup_s = 0.0
window_s = 1.0
[machine]
cores = 1
[load]
arrival = "{arrival}"
rate_rps = {rate_rps}
[[request]]
cpu_ms = 0.0
io_ms = 100.0
[[server]]
architecture = "prefork"
processes = 150
{fields}
"#
    );
    parse(&text, "dynamic-pool-test.toml").expect("valid test scenario")
}

#[test]
fn an_idle_pool_grows_by_doubling_to_its_minimum_spare() {
    // No traffic. StartServers 1, MinSpare 5, MaxSpare 10:
    //   t=1: 1 idle < 5 → fork 1 (rate 1) → 2; t=2: 2 < 5 → fork 2 → 4; t=3: 4 < 5 → fork 4 → 8;
    //   t=4..: 8 idle, within [5, 10] → nothing.
    // Processes over 10 s: 1 + 2 + 4 + 8 × 7 = 63 process-seconds → 6.3 on average; 7 forks.
    let r = run_one(&pool("start_processes = 1\nmin_spare_workers = 5\nmax_spare_workers = 10", 0.0, 10.0), 0, 0, true);
    assert_eq!(r.counts.spawns, 7);
    assert!((r.mean_processes_alive - 6.3).abs() < 1e-9, "mean processes {}", r.mean_processes_alive);
    let per_second: Vec<f64> = r.series.iter().map(|w| w.processes_alive).collect();
    assert_eq!(&per_second[..5], &[1.0, 2.0, 4.0, 8.0, 8.0]);
    // The series shows the forks where they happened: 1, 2 and 4 at t = 1, 2, 3.
    let spawns: Vec<f64> = r.series.iter().map(|w| w.spawns).collect();
    assert_eq!(&spawns[..5], &[0.0, 1.0, 2.0, 4.0, 0.0]);
}

#[test]
fn forking_costs_cpu() {
    // The same 7 forks at spawn_ms = 100: 0.7 CPU-seconds in 10 s on one core = 7% busy. Each
    // fork finishes well within the second, so the passes see the same idle counts as above.
    let r = run_one(
        &pool("start_processes = 1\nmin_spare_workers = 5\nmax_spare_workers = 10\nspawn_ms = 100", 0.0, 10.0),
        0,
        0,
        false,
    );
    assert_eq!(r.counts.spawns, 7);
    assert!((r.cpu_utilization - 0.07).abs() < 1e-9, "cpu {}", r.cpu_utilization);
}

#[test]
fn a_pool_with_too_many_idle_workers_stops_one_process_a_second() {
    // StartServers 20, MaxSpare 10, no traffic: one idle process stopped per pass, t=1..10,
    // 20 → 10. Over 20 s: (20 + 19 + … + 11) + 10 × 10 = 155 + 100 = 255 → 12.75 on average.
    let r =
        run_one(&pool("start_processes = 20\nmin_spare_workers = 5\nmax_spare_workers = 10", 0.0, 20.0), 0, 0, false);
    assert_eq!(r.counts.reaps, 10);
    assert!((r.mean_processes_alive - 12.75).abs() < 1e-9, "mean processes {}", r.mean_processes_alive);
}

#[test]
fn under_load_the_pool_keeps_its_spare_workers() {
    // 50 req/s × 100 ms = 5 busy workers on average (Little's law). The parent keeps between 5
    // and 10 of the rest idle, checking once a second, so the pool settles at about 5 + [5, 10]
    // processes: the mean idle count must lie near that band (±1 for the second-long lags).
    let r =
        run_one(&pool("start_processes = 5\nmin_spare_workers = 5\nmax_spare_workers = 10", 50.0, 2000.0), 0, 0, false);
    // Idle = alive − busy, with busy = 5 by Little's law.
    let idle = r.mean_processes_alive - 5.0;
    assert!((4.0..=11.0).contains(&idle), "idle {idle} (alive {})", r.mean_processes_alive);
    assert!(r.counts.spawns > 0 && r.counts.reaps > 0, "it both grows and shrinks: {:?}", r.counts);
}

#[test]
fn bad_settings_are_refused_with_their_field() {
    let problems = |fields: &str, arch: &str| -> String {
        let pool = match arch {
            "worker" => "processes = 10\nthreads = 2\n",
            "threaded" => "threads = 2\n",
            _ => "processes = 10\n",
        };
        let text = format!(
            "[load]\narrival = \"poisson\"\nrate_rps = 1.0\n[[request]]\ncpu_ms = 1.0\n[[server]]\narchitecture = \"{arch}\"\n{pool}{fields}\n"
        );
        match parse(&text, "bad.toml") {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    };
    assert!(problems("min_spare_workers = 5\nmax_spare_workers = 5", "prefork").contains("max_spare_workers"));
    assert!(problems("start_processes = 0", "prefork").contains("start_processes"));
    // StartServers above the ceiling is capped, as Apache does.
    assert!(problems("start_processes = 11", "prefork").is_empty());
    assert!(problems("min_spare_workers = 5", "threaded").contains("allowed for: prefork, worker"));
    assert!(problems("start_processes = 2\nmin_spare_workers = 2\nmax_spare_workers = 6", "worker").is_empty());
}
