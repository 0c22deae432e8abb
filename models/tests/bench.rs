//! `serversim bench`: the matrix is the documented one, every cell is a valid scenario file, the
//! closed loops are `ab -c N` (a closed queueing network whose throughput theory gives), and the
//! open loads run at their stated fraction of capacity.

use models::bench::{self, APPS, BenchConfig, Concurrency, LOADS};
use models::config::{ArchitectureKind, ServerConfig};

/// One pool of `threads` threads without a GIL or overheads: a plain processor-sharing queue.
fn pool(name: &str, threads: u32) -> ServerConfig {
    let mut s = ServerConfig::new(name, ArchitectureKind::Threaded);
    s.threads = threads;
    s.gil = false;
    s
}

fn config(servers: Vec<ServerConfig>) -> BenchConfig {
    let mut c = bench::default_config().expect("the presets load");
    c.servers = servers;
    c.apps = vec![bench::app_index("hello").unwrap()];
    c.duration_s = 60.0;
    c.warmup_s = 5.0;
    c
}

#[test]
fn the_matrix_is_seven_apps_by_seven_loads_of_valid_scenarios() {
    let c = bench::default_config().unwrap();
    assert_eq!(c.servers.len(), models::scenario::presets::preset_names().count());
    let cells = bench::cells(&c).unwrap();
    assert_eq!(cells.len(), APPS.len() * LOADS.len());
    assert_eq!((APPS.len(), LOADS.len()), (7, 7));
    for cell in &cells {
        // Written out and read back: what `bench --scenario APP/LOAD` prints is a valid file.
        let text = models::scenario::write::to_toml(&cell.scenario);
        let again = models::scenario::parse(&text, "cell.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(again.servers.len(), c.servers.len());
        match LOADS[cell.load].concurrency {
            Concurrency::Connections(n) => assert!(text.contains(&format!("users = {n}\n"))),
            Concurrency::Fraction(_) => assert!(cell.rate_rps.is_some_and(|r| r > 0.0)),
        }
    }
    assert!(bench::find_cell(&cells, "hello/c100").is_ok());
    assert!(bench::find_cell(&cells, "hello/c7").unwrap_err().to_string().contains("allowed: c1, c10"));
    assert!(bench::app_index("helo").unwrap_err().to_string().contains("allowed: hello, cpu, io"));
}

#[test]
fn closed_loops_saturate_as_the_machine_repairman_model_says() {
    // hello: CPU Exp(0.5 ms) on 4 cores. One connection with no think time: each cycle is one
    // service, throughput 1 / 0.5 ms = 2000 req/s. Ten connections on ten threads: ten jobs
    // share four cores, all four always busy: 4 / 0.5 ms = 8000 req/s. A single thread serves
    // one at a time whatever the connections: 2000 req/s. Standard error over 60 s of a renewal
    // count at rate λ with cv 1: √(λ / 60) — 5.8 req/s at 2000, 11.5 at 8000; allow 5 of them.
    let c = config(vec![pool("ten threads", 10), pool("one thread", 1)]);
    let cells = bench::cells(&c).unwrap();
    let reports = bench::run(&cells, &models::sweep::SweepProgress::default()).unwrap();
    let rows = bench::rows(&cells, &reports);
    let tput = |load: &str, server: usize| {
        rows.iter().find(|r| LOADS[r.load].name == load && r.row.server_index == server).unwrap().row.throughput_rps
    };
    let near = |got: f64, want: f64| (got - want).abs() < 5.0 * (want / 60.0).sqrt();
    assert!(near(tput("c1", 0), 2000.0), "c1: {}", tput("c1", 0));
    assert!(near(tput("c10", 0), 8000.0), "c10: {}", tput("c10", 0));
    assert!(near(tput("c10", 1), 2000.0), "one thread at c10: {}", tput("c10", 1));
    // Open loads: fractions of the largest capacity estimate, min(10 threads, 4 cores) / 0.5 ms.
    let rate = |load: &str| cells.iter().find(|c| LOADS[c.load].name == load).unwrap().rate_rps.unwrap();
    assert_eq!((rate("open50"), rate("open90"), rate("overload150")), (4000.0, 7200.0, 12000.0));
    // Ranked by peak closed-loop throughput: ten threads first.
    let ranked = bench::rankings(&rows, 2, &c.apps);
    assert_eq!(ranked[0].1.iter().map(|s| s.server).collect::<Vec<_>>(), [0, 1]);
    let report = bench::markdown(&c, &cells, &rows, "serversim bench", 1.0);
    assert!(
        report.contains("## hello") && report.contains("| 1 | ten threads |") && report.contains("| 2 | one thread |")
    );
}
