//! The `serversim` command line: its output contracts, determinism and error handling.

use std::process::{Command, Output};

fn serversim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_serversim")).args(args).output().expect("the binary runs")
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("serversim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn json_output_parses_and_accounts_for_every_request() {
    let out = serversim(&["run", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    let servers = v["servers"].as_array().unwrap();
    assert!(servers.len() >= 4);
    for s in servers {
        let r = &s["requests"];
        let n = |k: &str| r[k].as_u64().unwrap();
        assert_eq!(n("arrived"), n("completed") + n("rejected") + n("timed_out") + n("failed") + n("in_flight_at_end"));
        for key in ["mean", "p50", "p90", "p95", "p99", "p999", "max"] {
            assert!(s["latency_ms"][key].is_f64(), "latency_ms.{key}");
        }
        // Percentiles of one distribution are ordered, and nothing exceeds the maximum.
        let l = |k: &str| s["latency_ms"][k].as_f64().unwrap();
        let ordered = ["p50", "p90", "p95", "p99", "p999", "max"].map(l);
        assert!(ordered.windows(2).all(|w| w[0] <= w[1]), "percentiles out of order: {ordered:?}");
        assert!(l("mean") <= l("max"));
        // ps counts shared pages once per process, unique memory once: never less.
        let m = |k: &str| s["memory_mb"][k].as_f64().unwrap();
        assert!(m("rss_sum_mean") >= m("mean") - 1e-9 && m("rss_sum_peak") >= m("peak") - 1e-9, "{}", s["memory_mb"]);
        assert!(s.get("ci95").is_none(), "no ci95 with one replication");
    }
}

#[test]
fn same_seed_gives_byte_identical_json_and_replications_add_ci95() {
    let a = serversim(&["run", "--json", "--seed", "5", "--replications", "3"]);
    let b = serversim(&["run", "--json", "--seed", "5", "--replications", "3"]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(v["replications"], 3);
    // The default scenario: Poisson arrivals at 60 req/s measured for 120 s, none lost, so one
    // replication's throughput is N/120 with N ~ Poisson(7200): σ = √(60/120) = 0.707 req/s. With
    // 3 replications the half-width is t₂ · s/√3 = 4.303 · s/√3, and s²/σ² ~ χ²₂/2 lies in
    // [0.0001, 9.2] (χ²₂'s 0.01% and 99.99% points are 0.0002 and 18.4): the half-width is
    // within [0.0176, 5.3] req/s unless the model is wrong (or with probability 2·10⁻⁴).
    let hw = v["servers"][0]["ci95"]["throughput_rps"].as_f64().unwrap();
    assert!((0.0176..5.3).contains(&hw), "throughput ci95 half-width {hw} req/s");
}

#[test]
fn a_bad_file_exits_2_naming_file_line_and_field() {
    let path = temp_file(
        "bad.toml",
        "[load]\narrival = \"poisson\"\nrate_rps = 10.0\n[[request]]\ncpu_ms = 1.0\n[[server]]\narchitecture = \"prefork\"\nprocesses = 0\n",
    );
    let out = serversim(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:8:13: server[0].processes"), "{err}");
    assert!(out.stdout.is_empty());
    let missing = serversim(&["run", "/no/such/file.toml"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn overload_warns_on_stderr_while_json_stays_clean() {
    let path = temp_file(
        "overload.toml",
        "[run]\nduration_s = 20.0\nwarmup_s = 0.0\n[load]\narrival = \"poisson\"\nrate_rps = 500.0\n\
         [[request]]\nio_ms = 10.0\n[[server]]\narchitecture = \"threaded\"\nthreads = 2\n",
    );
    let out = serversim(&["run", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // 2 threads × 100 req/s each = 200 req/s capacity < 500 offered.
    assert!(err.contains("warning") && err.contains("capacity of about 200.0 req/s"), "{err}");
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("stdout is still pure JSON");
}

#[test]
fn series_csv_has_a_row_per_window_per_server() {
    let csv = std::env::temp_dir().join(format!("serversim-series-{}.csv", std::process::id()));
    let out = serversim(&["run", "--series", csv.to_str().unwrap()]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&csv).unwrap();
    // The default scenario runs 10 s warm-up + 120 s with 1 s windows, for 4 servers.
    assert_eq!(text.lines().count(), 1 + 4 * 130);
    let _ = std::fs::remove_file(csv);
}

#[test]
fn sweep_json_is_the_same_with_one_or_two_threads_and_writes_csv_and_chart() {
    let csv = std::env::temp_dir().join(format!("serversim-sweep-{}.csv", std::process::id()));
    let chart = std::env::temp_dir().join(format!("serversim-sweep-{}.svg", std::process::id()));
    let args = |jobs: &'static str| {
        vec!["sweep", "--param", "rate_rps", "--from", "50", "--to", "200", "--steps", "4", "--json", "--jobs", jobs]
    };
    let one = serversim(&args("1"));
    assert!(one.status.success(), "{}", String::from_utf8_lossy(&one.stderr));
    let mut two_args = args("2");
    two_args.extend(["--csv", csv.to_str().unwrap(), "--chart", chart.to_str().unwrap()]);
    let two = serversim(&two_args);
    assert!(two.status.success(), "{}", String::from_utf8_lossy(&two.stderr));
    assert_eq!(one.stdout, two.stdout, "results must not depend on the thread count");
    let v: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    let points = v["points"].as_array().unwrap();
    let values: Vec<f64> = points.iter().map(|p| p["value"].as_f64().unwrap()).collect();
    assert_eq!(values, vec![50.0, 100.0, 150.0, 200.0]);
    // Each point's report has the `serversim run --json` shape: throughput follows the offered
    // load while it is below every server's capacity (the default scenario handles 50 req/s).
    let tput = points[0]["report"]["servers"][0]["throughput_rps"].as_f64().unwrap();
    assert!((tput - 50.0).abs() < 5.0, "{tput}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("rate_rps,server,throughput_rps,"));
    assert_eq!(text.lines().count(), 1 + 4 * points[0]["report"]["servers"].as_array().unwrap().len());
    assert!(std::fs::read_to_string(&chart).unwrap().contains("<svg"));
}

#[test]
fn bad_sweeps_exit_2_with_what_is_allowed() {
    let out = serversim(&["sweep", "--param", "thread", "--values", "1,2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("allowed parameters: rate_rps, users, processes, threads"));
    let out = serversim(&["sweep", "--param", "threads", "--values", "0,2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("threads = 0 is not allowed"));
    let out = serversim(&["sweep", "--param", "rate_rps"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Ctrl-C (SIGINT) during a long run stops it cleanly: exit code 130, and the JSON on stdout
/// holds the results so far, marked as interrupted.
#[test]
fn ctrl_c_prints_the_partial_results_and_exits_130() {
    // 1e6 req/s for 900 s is 9e8 requests: allowed, but minutes of simulation.
    let path = temp_file(
        "long.toml",
        "name = \"long\"\n[run]\nduration_s = 900.0\nwarmup_s = 0.0\n[machine]\ncores = 8\n[load]\narrival = \"poisson\"\n\
         rate_rps = 1e6\n[[request]]\nio_ms = { dist = \"exp\", mean = 1.0 }\n[[server]]\narchitecture = \"threaded\"\nthreads = 2000\n",
    );
    let child = Command::new(env!("CARGO_BIN_EXE_serversim"))
        .args(["run", path.to_str().unwrap(), "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Long enough for the handler to be installed even on a loaded machine; the run takes minutes.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("partial results as JSON");
    let s = &v["servers"][0];
    assert_eq!(s["stopped"]["reason"], "interrupted");
    let at = s["stopped"]["at_s"].as_f64().unwrap();
    assert!(at > 0.0 && at < 900.0, "{at}");
    assert!(s["requests"]["completed"].as_u64().unwrap() > 0);
    assert!(err.contains("interrupted"), "{err}");
}

/// `serversim` with stdin closed and the progress file in a temporary folder.
fn serversim_quiet(args: &[&str], progress: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_serversim"))
        .args(args)
        .env("SERVERSIM_PROGRESS", progress)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs")
}

#[test]
fn lesson_commands_list_show_run_and_check() {
    let progress = std::env::temp_dir().join(format!("serversim-progress-{}.json", std::process::id()));
    let out = serversim_quiet(&["lesson", "list", "--json"], &progress);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON array");
    let list = v.as_array().expect("an array");
    assert_eq!(list.len(), lessons::COURSE.len());
    for (i, l) in list.iter().enumerate() {
        assert_eq!(l["id"].as_u64(), Some(i as u64 + 1));
        assert!(l["title"].is_string() && l["steps"].as_u64() > Some(0));
        assert!(l["predictions"].as_u64() >= Some(1) && l["claims"].as_u64() >= Some(2));
    }
    let out = serversim_quiet(&["lesson", "show", "1"], &progress);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("Lesson 1:"), "{text}");
    // With no terminal, taking a lesson runs straight through and shows the observations.
    let out = serversim_quiet(&["lesson", "1"], &progress);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("What this run shows") && !text.contains('{'), "placeholders are filled:\n{text}");
    let out = serversim_quiet(&["lesson", "check", "1"], &progress);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let last = text.lines().last().unwrap_or("");
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    let plots = std::env::temp_dir().join(format!("serversim-lesson-plots-{}", std::process::id()));
    let out = serversim_quiet(&["lesson", "run", "littles-law", "--plots", plots.to_str().unwrap()], &progress);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pngs = std::fs::read_dir(&plots).unwrap().count();
    assert_eq!(pngs, lessons::course().remove(0).unwrap().runs.len(), "one chart per run step");
    let _ = std::fs::remove_dir_all(&plots);
}

#[test]
fn a_failing_claim_and_a_broken_lesson_have_exit_codes() {
    let progress = std::env::temp_dir().join(format!("serversim-progress-b-{}.json", std::process::id()));
    // Lesson 1 with twice the work per request: its utilisation claim no longer holds.
    let changed = lessons::COURSE[0].1.replacen("mean = 10.0 }", "mean = 20.0 }", 1);
    let path = temp_file("01-changed.toml", &changed);
    let out = serversim_quiet(&["lesson", "check", path.to_str().unwrap()], &progress);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL") && text.lines().last().is_some_and(|l| !l.ends_with(" 0 failed")), "{text}");
    let broken = temp_file("broken.toml", "title = \"x\"\nminutes = 10\n[[step]]\ntext = 3\n");
    let out = serversim_quiet(&["lesson", "check", broken.to_str().unwrap()], &progress);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.toml:4:"), "{err}");
    let out = serversim_quiet(&["lesson", "show", "no-such-lesson"], &progress);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("littles-law"));
}

#[test]
fn run_check_checks_a_scenarios_claims() {
    let sc = "name = \"c\"\n[run]\nduration_s = 200.0\n[machine]\ncores = 1\n[load]\narrival = \"poisson\"\nrate_rps = 50.0\n[[request]]\nname = \"r\"\ncpu_ms = { dist = \"exp\", mean = 10.0 }\n[[server]]\nname = \"one\"\narchitecture = \"threaded\"\nthreads = 1\n";
    // M/M/1 at utilisation 0.5: busy half the time (true), and a mean latency of 10 / (1 − 0.5) =
    // 20 ms, so "under 15 ms" is false.
    let text = format!(
        "{sc}[[claim]]\nsays = \"half busy\"\ncheck = \"one.utilization.cpu ~ 0.5 within 5%\"\n[[claim]]\nsays = \"fast\"\ncheck = \"one.latency_ms.mean < 15\"\n"
    );
    let path = temp_file("claims.toml", &text);
    let out = serversim(&["run", path.to_str().unwrap(), "--check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ok   ") && stdout.contains("FAIL") && stdout.contains("1 passed, 1 failed"), "{stdout}");
    let bad =
        temp_file("claims-bad.toml", &format!("{sc}[[claim]]\nsays = \"x\"\ncheck = \"two.throughput_rps > 1\"\n"));
    let out = serversim(&["run", bad.to_str().unwrap(), "--check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no server `two`"));
}

#[test]
fn plan_prints_its_json_and_refuses_bad_objectives_with_exit_2() {
    let out = serversim(&["plan", "--rate", "60", "--p99-ms", "500", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rate_rps"], 60.0);
    let servers = v["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 4, "the default scenario's four servers");
    for s in servers {
        if s["feasible"].as_bool().unwrap() {
            // What it chose meets the objective with its interval, and has room above the rate.
            assert!(s["p99_ms"].as_f64().unwrap() + s["p99_ci95_ms"].as_f64().unwrap() <= 500.0, "{s}");
            assert!(s["headroom_rps"].as_f64().unwrap() >= 60.0, "{s}");
            assert!(!s["sizes"].as_object().unwrap().is_empty(), "{s}");
        }
        assert!(s["simulations"].as_u64().unwrap() > 0, "{s}");
    }
    let best = v["best"].as_str().unwrap();
    assert!(servers.iter().any(|s| s["name"] == best));
    let bad: [(&[&str], &str); 3] = [
        (&["plan", "--rate", "0", "--p99-ms", "100"], "--rate"),
        (&["plan", "--rate", "10", "--p99-ms=-1"], "--p99-ms"),
        (&["plan", "--rate", "10", "--p99-ms", "100", "--max-lost", "2"], "--max-lost"),
    ];
    for (args, what) in bad {
        let out = serversim(args);
        assert_eq!(out.status.code(), Some(2), "{what}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(what),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_grid_prints_every_point_and_refuses_a_bad_path_with_exit_2() {
    let out = serversim(&["sweep", "--vary", "load.rate_rps=20,40", "--vary", "server.threads=2,4", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["points"].as_array().unwrap().len(), 4);
    assert_eq!(v["points"][1]["values"], serde_json::json!([20.0, 4.0]));
    let bad = serversim(&["sweep", "--vary", "server.bogus=1"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("server.bogus"));
    assert!(bad.stdout.is_empty());
}

#[test]
fn a_sharded_grid_merges_into_exactly_the_unsharded_output() {
    let grid = ["sweep", "--vary", "load.rate_rps=20..60/3", "--vary", "server.threads=2,4", "--json"];
    let whole = serversim(&grid);
    assert!(whole.status.success(), "{}", String::from_utf8_lossy(&whole.stderr));
    // Six points in four shards (2, 2, 1 and 1 points), merged in another order.
    let shards: Vec<std::path::PathBuf> = (1..=4)
        .map(|k| {
            let shard = format!("{k}/4");
            let out = serversim(&[&grid[..], &["--shard", &shard]].concat());
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            temp_file(&format!("shard{k}.json"), std::str::from_utf8(&out.stdout).unwrap())
        })
        .collect();
    let path = |k: usize| shards[k].to_str().unwrap();
    let merged = serversim(&["merge", path(3), path(1), path(0), path(2)]);
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    assert_eq!(String::from_utf8_lossy(&merged.stdout), String::from_utf8_lossy(&whole.stdout));
    // Every refusal exits 2 with one message and prints nothing.
    let other_seed = serversim(&[&grid[..], &["--shard", "2/4", "--seed", "9"]].concat());
    let other = temp_file("other-seed.json", std::str::from_utf8(&other_seed.stdout).unwrap());
    let unsharded = temp_file("whole.json", std::str::from_utf8(&whole.stdout).unwrap());
    for (args, says) in [
        (vec!["merge", path(0), path(1), path(2)], "shard 4/4 is missing"),
        (vec!["merge", path(0), path(0), path(1), path(2), path(3)], "shard 1/4 given twice"),
        (vec!["merge", path(0), other.to_str().unwrap(), path(2), path(3)], "different grids"),
        (vec!["merge", unsharded.to_str().unwrap()], "not a shard"),
    ] {
        let out = serversim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
    for (args, says) in
        [(vec!["--shard", "3/2"], "1 ≤ K ≤ N"), (vec!["--shard", "0/2"], "1 ≤ K ≤ N"), (vec!["--shard", "two"], "K/N")]
    {
        let out = serversim(&[&grid[..], &args[..]].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let param = serversim(&["sweep", "--param", "threads", "--values", "1,2", "--shard", "1/2", "--json"]);
    assert_eq!(param.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&param.stderr).contains("--shard slices a grid"));
}

#[test]
fn a_grid_writes_intervals_to_its_csv_and_draws_its_chart() {
    let csv = std::env::temp_dir().join(format!("serversim-grid-{}.csv", std::process::id()));
    let chart = csv.with_extension("svg");
    let out = serversim(&[
        "sweep",
        "--vary",
        "load.rate_rps=20,40",
        "--vary",
        "server.threads=2,4",
        "--replications",
        "2",
        "--csv",
        csv.to_str().unwrap(),
        "--chart",
        chart.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[..3], ["load.rate_rps", "server.threads", "server"]);
    let ci = header.iter().position(|h| *h == "latency_p99_ci95_ms").expect("the p99 interval's column");
    // 4 points × the default scenario's 4 servers, each with an interval from 2 replications.
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 16);
    assert!(rows.iter().all(|r| r[ci].parse::<f64>().is_ok_and(|h| h > 0.0)), "{text}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    // Servers without threads get one line, not one per thread count: 2 + 1 + 1 + 2 lines.
    assert_eq!(svg.matches("server.threads = 2").count(), 2, "the legend names each threaded line once");
    assert!(svg.contains("event loop (Twisted)") && !svg.contains("event loop (Twisted), server.threads"));
}

#[test]
fn bench_writes_its_report_charts_csv_and_json_and_refuses_bad_arguments() {
    let dir = std::env::temp_dir().join(format!("serversim-bench-{}", std::process::id()));
    let servers = temp_file(
        "bench-servers.toml",
        "[machine]\ncores = 2\n[load]\narrival = \"poisson\"\nrate_rps = 1.0\n[[request]]\ncpu_ms = 1.0\n\
         [[server]]\nname = \"pool\"\narchitecture = \"threaded\"\nthreads = 8\n\
         [[server]]\nname = \"forks\"\narchitecture = \"prefork\"\nprocesses = 4\n",
    );
    let csv = dir.join("rows.csv");
    let args = [
        "bench",
        "--servers",
        servers.to_str().unwrap(),
        "--apps",
        "hello,io",
        "--duration-s",
        "5",
        "--warmup-s",
        "1",
        "--out",
        dir.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ];
    let out = serversim(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("28 simulations"), "2 apps × 7 loads × 2 servers");
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for want in ["## hello", "## io", "| 1 |", "| 2 |", "on 2 core(s)", "(hello.svg)", "(io.svg)"] {
        assert!(report.contains(want), "{want} missing from\n{report}");
    }
    for chart in ["hello.svg", "hello.png", "io.svg", "io.png"] {
        assert!(std::fs::metadata(dir.join(chart)).is_ok_and(|m| m.len() > 1000), "{chart}");
    }
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert!(rows.starts_with("app,load,connections,rate_rps,server,throughput_rps"));
    assert_eq!(rows.lines().count(), 1 + 28);
    let json = serversim(&[&args[..], &["--json"]].concat());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 28);
    assert_eq!(v["apps"][0]["ranking"].as_array().unwrap().len(), 2);
    let cell = serversim(&["bench", "--apps", "io", "--scenario", "io/c100"]);
    assert!(String::from_utf8_lossy(&cell.stdout).contains("users = 100"));
    for (bad, says) in [
        (vec!["bench", "--apps", "nope"], "allowed: hello, cpu, io, mixed, large, slow-clients, keepalive"),
        (vec!["bench", "--scenario", "hello/c7"], "unknown load \"c7\""),
        (vec!["bench", "--duration-s", "0"], "--duration-s 0"),
    ] {
        let out = serversim(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn calibrate_fits_the_worked_example_and_refuses_bad_measurements() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/calibrate");
    let scenario = root.join("gunicorn-sync.toml");
    let measured = root.join("gunicorn-sync-measured.csv");
    let out_file = std::env::temp_dir().join(format!("serversim-calibrated-{}.toml", std::process::id()));
    let args = [
        "calibrate",
        scenario.to_str().unwrap(),
        "--measured",
        measured.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
        "--json",
    ];
    let out = serversim(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Five workers serve the mixed app (5 ms CPU + 20 ms sleep) at about 180 req/s: whatever the
    // split, the fitted demands must add up to what five workers take per request,
    // 5 / 180 req/s = 27.8 ms, give or take the 10% the model's p50 and throughput disagree by.
    let sum = v["fitted"]["cpu_ms"].as_f64().unwrap() + v["fitted"]["io_ms"].as_f64().unwrap();
    assert!((sum - 5000.0 / 180.0).abs() < 0.1 * 5000.0 / 180.0, "fitted cpu + io = {sum} ms");
    assert_eq!(v["points"].as_array().unwrap().len(), 5);
    // The calibrated scenario runs.
    let run = serversim(&["run", out_file.to_str().unwrap(), "--json"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let bad_csv = temp_file("bad-measured.csv", "concurrency,throughput_rps,p50_ms\n1,40,20\n2,80,20\n");
    let two = temp_file(
        "two-servers.toml",
        "[load]\narrival = \"closed\"\nusers = 1\nthink_ms = 0.0\n[[request]]\ncpu_ms = 1.0\n\
         [[server]]\nname = \"a\"\narchitecture = \"threaded\"\nthreads = 2\n[[server]]\nname = \"b\"\narchitecture = \"threaded\"\nthreads = 4\n",
    );
    for (args, says) in [
        (
            vec!["calibrate", scenario.to_str().unwrap(), "--measured", bad_csv.to_str().unwrap()],
            "bad-measured.csv:1: missing column `p99_ms`",
        ),
        (
            vec!["calibrate", two.to_str().unwrap(), "--measured", measured.to_str().unwrap()],
            "say which one was measured with --server (allowed: a, b)",
        ),
        (
            vec!["calibrate", two.to_str().unwrap(), "--measured", measured.to_str().unwrap(), "--server", "c"],
            "no such server; allowed: a, b",
        ),
        (
            vec!["calibrate", scenario.to_str().unwrap(), "--measured", "/nonexistent.csv"],
            "cannot read /nonexistent.csv",
        ),
    ] {
        let out = serversim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
}
