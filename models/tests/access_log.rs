//! Replaying an access log (`arrival = "log"`): every usable line arrives once, in the second its
//! timestamp names; damaged lines are skipped and reported; a log with nothing usable, or one
//! that cannot be read, is refused with the field named.

use std::path::Path;

use models::config::Arrival;
use models::runner::run;

fn example() -> models::config::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/replay-access-log.toml");
    models::scenario::load(&path).expect("the example is valid")
}

/// The sample log was generated with three damaged lines inserted (a truncated write, a health
/// check, an impossible time); every other line is one request.
#[test]
fn every_usable_line_arrives_once_in_its_second() {
    let sc = example();
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/access-sample.log")).unwrap();
    let total = text.lines().count();
    let Arrival::Log(log) = &sc.load.arrival else { panic!("a log load") };
    assert_eq!((log.lines, log.malformed), (total as u64, 3));
    // Requests per logged second, counted from the text (the part between '[' and ']') in the
    // order the seconds appear: the sample log is in time order, one line's second never goes
    // back, and (at 20 req/s or more) no second is empty — all checked here.
    let mut per_second: Vec<(String, u64)> = Vec::new();
    for line in text.lines() {
        if let (Some(a), Some(b)) = (line.find('['), line.find(']'))
            && b > a
            && line[b..].contains('"')
            && !line.contains(":25:61:")
        {
            let stamp = &line[a + 1..b];
            match per_second.last_mut() {
                Some((s, n)) if s == stamp => *n += 1,
                _ => {
                    assert!(per_second.iter().all(|(s, _)| s != stamp), "the sample log goes back in time");
                    per_second.push((stamp.to_string(), 1));
                }
            }
        }
    }
    assert_eq!(per_second.len(), 120, "one entry for each of the 120 seconds");
    let usable: u64 = per_second.iter().map(|p| p.1).sum();
    assert_eq!(usable, total as u64 - 3);
    let report = run(&sc, true);
    for s in &report.servers {
        let r = &s.runs[0];
        assert_eq!(r.counts.arrived, usable, "{}", s.name);
        assert_eq!(r.counts.arrived, r.counts.completed + r.in_flight_at_end, "{}", s.name);
        // The time series' 1 s windows hold exactly the requests of each logged second.
        let arrived: Vec<u64> = r.series.iter().map(|w| (w.arrived_rps * w.width_s).round() as u64).collect();
        let logged: Vec<u64> = per_second.iter().map(|p| p.1).collect();
        assert_eq!(&arrived[..logged.len()], &logged[..], "{}", s.name);
        assert!(s.warnings.iter().any(|w| w.contains("3 of") && w.contains("line 101")), "{:?}", s.warnings);
    }
    // The burst (100 req/s from 60 s to 90 s, against 20 req/s around it) exceeds the threaded
    // server's one core (capacity 1 / 12 ms ≈ 83 req/s): its latency is far above prefork's.
    let p99 = |i: usize| report.servers[i].runs[0].latency.quantile_ms(0.99);
    assert!(p99(0) > 10.0 * p99(1), "threaded {} ms vs prefork {} ms", p99(0), p99(1));
}

#[test]
fn unusable_or_missing_logs_are_refused_with_the_field() {
    let dir = std::env::temp_dir().join(format!("serversim-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("junk.log"), "not a log\nstill not\n").unwrap();
    let scenario = |log: &str| {
        format!(
            "[load]\narrival = \"log\"\nlog_file = \"{log}\"\n[[request]]\ncpu_ms = 1.0\n[[server]]\narchitecture = \"threaded\"\nthreads = 2\n"
        )
    };
    let file = dir.join("s.toml");
    for (log, says) in [("junk.log", "no usable line"), ("missing.log", "cannot read access log")] {
        let err = models::scenario::parse(&scenario(log), file.to_str().unwrap()).unwrap_err().to_string();
        assert!(err.contains("load.log_file") && err.contains(says), "{err}");
    }
    let err = models::scenario::parse(&scenario("junk.log").replace("threads = 2", "threads = 2\n"), "s.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("load.log_file"), "{err}");
    // rate_rps does not apply to a replayed log.
    let with_rate = scenario("junk.log").replace("[[request]]", "rate_rps = 5.0\n[[request]]");
    let err = models::scenario::parse(&with_rate, file.to_str().unwrap()).unwrap_err().to_string();
    assert!(err.contains("load.rate_rps") && err.contains("does not apply to a replayed log"), "{err}");
}

/// Saving a replayed-log scenario writes the log's resolved path, so the saved file reads back
/// to the same arrivals from wherever it is saved.
#[test]
fn a_saved_log_scenario_reads_back_the_same_arrivals() {
    let sc = example();
    let text = models::scenario::to_toml(&sc);
    let again = models::scenario::parse(&text, "/somewhere/else/saved.toml").expect("the saved file is valid");
    let (Arrival::Log(a), Arrival::Log(b)) = (&sc.load.arrival, &again.load.arrival) else { panic!("log loads") };
    assert_eq!(a.times_s, b.times_s);
    assert_eq!(models::scenario::to_toml(&again), text);
}

/// A scenario opened by a relative path records the log's absolute path (tests run in the
/// crate's folder), so saving it anywhere keeps the log reachable.
#[test]
fn the_log_path_is_made_absolute() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/replay-access-log.toml"))
        .unwrap();
    let sc = models::scenario::parse(&text, "scenarios/replay-access-log.toml").expect("found from the crate folder");
    let Arrival::Log(log) = &sc.load.arrival else { panic!("a log load") };
    assert!(Path::new(&log.path).is_absolute(), "{}", log.path);
    assert!(Path::new(&log.path).is_file());
}

/// `time_scale = 2` replays the same requests twice as fast: every arrival time halves, so over
/// the same log the mean gap halves and the mean rate doubles; it survives `to_toml`, and it is
/// refused on a load that is not a replay.
#[test]
fn time_scale_replays_the_same_traffic_faster() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let text = std::fs::read_to_string(dir.join("replay-access-log.toml")).unwrap();
    let scaled_text =
        text.replace("log_file = \"access-sample.log\"", "log_file = \"access-sample.log\"\ntime_scale = 2.0");
    assert_ne!(scaled_text, text, "the example names its log as this test expects");
    let file = dir.join("replay-access-log.toml").display().to_string();
    let plain = models::scenario::parse(&text, &file).unwrap();
    let scaled = models::scenario::parse(&scaled_text, &file).unwrap();
    let (Arrival::Log(a), Arrival::Log(b)) = (&plain.load.arrival, &scaled.load.arrival) else { panic!("log loads") };
    assert_eq!(a.times_s.len(), b.times_s.len(), "the same requests");
    for (x, y) in a.times_s.iter().zip(b.times_s.iter()) {
        assert_eq!(*y, *x / 2.0);
    }
    let gap = |t: &[f64]| (t[t.len() - 1] - t[0]) / (t.len() - 1) as f64;
    assert!((gap(&b.times_s) - gap(&a.times_s) / 2.0).abs() < 1e-12);
    let again = models::scenario::parse(&models::scenario::write::to_toml(&scaled), &file).unwrap();
    let Arrival::Log(c) = &again.load.arrival else { panic!("a log load") };
    assert_eq!((c.time_scale, c.times_s.len()), (2.0, b.times_s.len()));
    let open = "[load]\narrival = \"poisson\"\nrate_rps = 5.0\ntime_scale = 2.0\n[[request]]\ncpu_ms = 1.0\n[[server]]\narchitecture = \"threaded\"\nthreads = 1\n";
    let e = models::scenario::parse(open, "open.toml").unwrap_err().to_string();
    assert!(e.contains("time_scale") && e.contains("replayed log"), "{e}");
}

/// `[[request]] url` patterns choose each logged request's class by its path: as many arrivals
/// are static as the log has usable lines asking for `/static/…` (counted here from the text),
/// the rest go to the class without a pattern, and a pattern on a load that is not a replay, or
/// a path no class takes, is refused.
#[test]
fn url_patterns_choose_a_logged_requests_class() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let log = std::fs::read_to_string(dir.join("access-sample.log")).unwrap();
    let text = std::fs::read_to_string(dir.join("replay-access-log.toml")).unwrap();
    let file = dir.join("replay-access-log.toml").display().to_string();
    let plain = models::scenario::parse(&text, &file).unwrap();
    let Arrival::Log(usable) = &plain.load.arrival else { panic!("a log load") };
    // Two classes by URL, replacing the example's request mix.
    let head = &text[..text.find("[[request]]").expect("the example has a request mix")];
    let servers = &text[text.find("[[server]]").expect("and servers")..];
    let classed = format!(
        "{head}[[request]]\nname = \"static\"\nurl = \"^/static/\"\ncpu_ms = 0.5\nstatic = true\n\n[[request]]\nname = \"page\"\ncpu_ms = 5.0\n\n{servers}"
    );
    let sc = models::scenario::parse(&classed, &file).unwrap_or_else(|e| panic!("{e}"));
    let Arrival::Log(log_replay) = &sc.load.arrival else { panic!("a log load") };
    let classes = log_replay.classes.as_ref().expect("classes by URL");
    assert_eq!(classes.len(), usable.times_s.len());
    // The usable lines asking for /static/: the sample's three damaged lines ask for other paths.
    let static_lines = log.lines().filter(|l| l.contains("\"GET /static/")).count();
    assert_eq!(classes.iter().filter(|&&c| c == 0).count(), static_lines);
    // The load generator hands out exactly these classes, arrival by arrival.
    let mut load = models::engine::LoadGen::new(&sc, 0);
    let drawn: Vec<u16> = (0..classes.len()).map(|_| load.draw_request().class).collect();
    assert_eq!(&drawn[..], &classes[..]);
    let again = models::scenario::parse(&models::scenario::write::to_toml(&sc), &file).unwrap();
    assert_eq!(again.requests[0].url.as_deref(), Some("^/static/"));
    let open = "[load]\narrival = \"poisson\"\nrate_rps = 5.0\n[[request]]\nurl = \"^/a\"\ncpu_ms = 1.0\n[[server]]\narchitecture = \"threaded\"\nthreads = 1\n";
    let e = models::scenario::parse(open, "open.toml").unwrap_err().to_string();
    assert!(e.contains("url") && e.contains("replayed log"), "{e}");
    let only = classed.replace(
        "[[request]]\nname = \"page\"\ncpu_ms = 5.0\n",
        "[[request]]\nname = \"page\"\nurl = \"^/api\"\ncpu_ms = 5.0\n",
    );
    let e = models::scenario::parse(&only, &file).unwrap_err().to_string();
    assert!(e.contains("matches no `url` pattern"), "{e}");
    let bad = classed.replace("url = \"^/static/\"", "url = \"(\"");
    assert!(models::scenario::parse(&bad, &file).unwrap_err().to_string().contains("not a regular expression"));
}

/// A log line at second `s` of the run asking for `path`, ending in `time` (the response-time
/// field), in Combined Log Format.
fn timed_line(s: u32, path: &str, time: &str) -> String {
    format!(
        "10.0.0.1 - - [10/Oct/2000:13:{:02}:{:02} +0000] \"GET {path} HTTP/1.1\" 200 512 \"-\" \"curl/8\" {time}\n",
        s / 60,
        s % 60
    )
}

fn log_dir(name: &str, log: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("serversim-logdemand-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("access.log"), log).unwrap();
    dir.join("scenario.toml")
}

const LOGGED_DEMANDS: &str = "[run]\nduration_s = 80.0\nwarmup_s = 0.0\n[load]\narrival = \"log\"\nlog_file = \"access.log\"\nlog_time = \"%D\"\nlog_demand = \"io\"\n\
[[request]]\nname = \"static\"\nurl = \"^/static/\"\n[[request]]\nname = \"page\"\n\
[[server]]\narchitecture = \"threaded\"\nthreads = 1000\n";

/// `log_time` + `log_demand`: each class's demand is the empirical distribution of its own
/// lines' logged times (Apache `%D`, µs), and with a pool too large to queue in (M/G/∞) the
/// mean response time is that distribution's mean.
#[test]
fn logged_response_times_become_each_classs_demand() {
    // 60 s at 10 req/s: /static/ lines take 1, 2 or 3 ms; page lines 20 … 100 ms in steps of
    // 20; every 50th line has no time (skipped, counted).
    let mut log = String::new();
    let (mut statics, mut pages, mut untimed) = (Vec::new(), Vec::new(), 0);
    for k in 0..600u32 {
        let s = k / 10;
        if k % 50 == 49 {
            log.push_str(&timed_line(s, "/x", "").replace(" \n", "\n"));
            untimed += 1;
        } else if k % 3 == 0 {
            let us = 1000 * (1 + k % 3 + (k / 3) % 3);
            statics.push(f64::from(us) / 1e6);
            log.push_str(&timed_line(s, &format!("/static/{k}.css"), &us.to_string()));
        } else {
            let us = 20_000 * (1 + k % 5);
            pages.push(f64::from(us) / 1e6);
            log.push_str(&timed_line(s, "/page", &us.to_string()));
        }
    }
    let file = log_dir("classes", &log);
    std::fs::write(&file, LOGGED_DEMANDS).unwrap();
    let sc = models::scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let Arrival::Log(replay) = &sc.load.arrival else { panic!("a log load") };
    assert_eq!((replay.lines, replay.malformed), (600, untimed));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!((sc.requests[0].io_s.mean() - mean(&statics)).abs() < 1e-12);
    assert!((sc.requests[1].io_s.mean() - mean(&pages)).abs() < 1e-12);
    // Demands are drawn from the distribution, not replayed line by line: the simulated mean is
    // within 5 standard errors of the logged one (σ of every timed line over √n).
    let all: Vec<f64> = statics.iter().chain(&pages).copied().collect();
    let (mu, n) = (mean(&all), all.len() as f64);
    let sd = (all.iter().map(|t| (t - mu).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let s = &run(&sc, false).servers[0];
    assert_eq!(s.runs[0].counts.completed, all.len() as u64);
    let got_s = s.runs[0].latency.mean_ms() / 1e3;
    assert!((got_s - mu).abs() < 5.0 * sd / n.sqrt(), "simulated mean {got_s} s, logged {mu} s ± {}", sd / n.sqrt());
    // Written back without io_ms, and read back the same.
    let text = models::scenario::write::to_toml(&sc);
    assert!(
        text.contains("log_time = \"%D\"") && text.contains("log_demand = \"io\"") && !text.contains("io_ms"),
        "{text}"
    );
    let again = models::scenario::parse(&text, &file.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.requests[1].io_s.mean(), sc.requests[1].io_s.mean());
}

/// The other formats' units, and every way to ask for logged demands wrongly.
#[test]
fn logged_demands_take_each_formats_unit_and_refuse_what_does_not_fit() {
    let log: String = (0..20).map(|k| timed_line(k, "/page", "0.040")).collect();
    let file = log_dir("units", &log);
    let with = |from: &str, to: &str| {
        std::fs::write(&file, LOGGED_DEMANDS.replace(from, to)).unwrap();
        models::scenario::load(&file)
    };
    // nginx $request_time and Apache %T are seconds; %{ms}T milliseconds; %D microseconds.
    for (field, want_s) in [("$request_time", 0.040), ("%T", 0.040), ("%{ms}T", 0.040e-3), ("%D", 0.040e-6)] {
        let sc = with("log_time = \"%D\"", &format!("log_time = \"{field}\"")).unwrap_or_else(|e| panic!("{e}"));
        assert!((sc.requests[1].io_s.mean() - want_s).abs() < 1e-15, "{field}");
    }
    let cpu = with("log_demand = \"io\"", "log_demand = \"cpu\"").unwrap();
    assert!((cpu.requests[1].cpu_s.mean() - 0.040e-6).abs() < 1e-15 && cpu.requests[1].io_s.mean() == 0.0);
    for (from, to, says) in [
        ("log_time = \"%D\"\n", "", "`log_demand` needs `log_time`"),
        ("log_demand = \"io\"\n", "", "`log_time` needs `log_demand`"),
        ("log_time = \"%D\"", "log_time = \"%d\"", "allowed: \"%D\", \"%{ms}T\", \"%T\", \"$request_time\""),
        ("log_demand = \"io\"", "log_demand = \"disk\"", "allowed: \"io\", \"cpu\""),
        ("name = \"page\"\n", "name = \"page\"\nio_ms = 5.0\n", "leave it out"),
    ] {
        let e = with(from, to).unwrap_err().to_string();
        assert!(e.contains(says), "{to:?}: {e}");
    }
    // A log whose lines end without a time (plain Combined format): no usable line.
    std::fs::write(file.with_file_name("access.log"), log.replace(" 0.040", "")).unwrap();
    let e = with("", "").unwrap_err().to_string();
    assert!(
        e.contains("log_file") && e.contains("with a response time") && e.contains("line 1: no response time"),
        "{e}"
    );
    // On an open load the fields are refused.
    std::fs::write(&file, "[load]\narrival = \"poisson\"\nrate_rps = 5.0\nlog_time = \"%D\"\nlog_demand = \"io\"\n[[request]]\ncpu_ms = 1.0\n[[server]]\narchitecture = \"threaded\"\nthreads = 1\n").unwrap();
    let e = models::scenario::load(&file).unwrap_err().to_string();
    assert!(e.contains("`log_time` applies to a replayed log only") && e.contains("`log_demand` applies"), "{e}");
}
