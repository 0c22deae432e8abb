//! A batch advanced a slice at a time (how the web page, which has no threads, runs lessons and
//! sweeps) gives exactly the reports of running each scenario in one go.

use models::runner::{self, Batch, JsonReport};

fn json(r: &runner::Report) -> String {
    serde_json::to_string(&JsonReport::from_report(r)).expect("serialises")
}

#[test]
fn sliced_batches_report_what_whole_runs_do() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut scenarios = Vec::new();
    for name in ["default.toml", "crashing-c-extension.toml", "database-bottleneck.toml"] {
        let mut s = models::scenario::load(&dir.join(name)).expect("example parses");
        s.run.duration_s = 20.0;
        s.run.warmup_s = 2.0;
        s.run.replications = 2;
        scenarios.push(s);
    }
    let whole: Vec<String> = scenarios.iter().map(|s| json(&runner::run(s, true))).collect();
    let mut batch = Batch::new(scenarios.clone(), true);
    assert_eq!(batch.total(), scenarios.iter().map(|s| s.servers.len() * 2).sum::<usize>());
    // Slices of varying, odd sizes, so checks and ends fall inside slices.
    let mut slices = 0u64;
    while !batch.advance(997 + 3 * (slices % 7)) {
        slices += 1;
    }
    assert!(slices > 100, "the batch was really sliced ({slices} slices)");
    assert_eq!(batch.done(), batch.total());
    let sliced: Vec<String> = batch.reports().expect("all done").iter().map(json).collect();
    assert_eq!(sliced, whole);
}

#[test]
fn a_run_stopped_early_stops_at_the_same_point_in_slices() {
    // A queue that diverges: with a low limit on requests inside, the run stops early; sliced
    // into pieces smaller than the check interval it must stop at the same instant.
    let mut s = models::scenario::default_scenario();
    s.load.rate_rps *= 20.0;
    // Long enough for several checks (every `CHECK_EVENTS` = 1e6 events).
    s.run.duration_s = 2_000.0;
    // An unlimited backlog, so the queue grows instead of refusing.
    s.servers[0].listen_backlog = None;
    let control = runner::RunControl { max_in_system: 2_000, ..Default::default() };
    let whole = runner::run_one_with(&s, 0, 0, false, &control);
    let stopped = whole.stopped.expect("an overloaded server diverges past 2 000 requests inside");
    let mut job = runner::Job::new(&s, 0, 0, false);
    while !job.advance(12_345, &control) {}
    let sliced = job.finish();
    assert_eq!(sliced.stopped, Some(stopped));
    assert_eq!(sliced.counts, whole.counts);
}
