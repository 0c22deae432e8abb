//! Runs one scenario file with every statistic and the time series on, for profilers
//! (`valgrind --tool=callgrind`, `perf`): prints simulated requests and requests per second.
//!
//! `cargo run --release -p models --example profile_scenario -- benches/peers/mmc.toml 2000`
//! (the optional second argument overrides `run.duration_s`).

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: profile_scenario FILE.toml [DURATION_S]")?;
    let mut scenario = models::scenario::load(std::path::Path::new(&path))?;
    if let Some(d) = args.next() {
        scenario.run.duration_s = d.parse()?;
    }
    let start = Instant::now();
    let mut completed = 0;
    for server in 0..scenario.servers.len() {
        completed += models::runner::run_one(&scenario, server, 0, true).counts.completed;
    }
    let wall_s = start.elapsed().as_secs_f64();
    println!("{completed} requests completed in {wall_s:.3} s: {:.0} requests/s", completed as f64 / wall_s);
    Ok(())
}
