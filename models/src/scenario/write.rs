//! Writing a scenario back to TOML (the GUI's "Save"), in the same shape the parser reads, so
//! that `parse(to_toml(s))` describes the same scenario.

use std::fmt::Write;

use sim::Dist;

use crate::architectures::FieldValue;
use crate::config::*;

/// A number as TOML writes it (always with a decimal point or exponent, so it stays a float).
fn num(v: f64) -> String {
    let s = format!("{v:?}");
    if s.contains(['.', 'e', 'E']) || s.contains("inf") || s.contains("NaN") { s } else { format!("{s}.0") }
}

/// The file value of `v_s` seconds in a field of 1/`per_s` second units (`per_s` = 1000 for
/// `_ms` fields): the shortest number that the parser, which divides by `per_s`, turns back into
/// exactly `v_s`. A `v_s` that no file value reaches (it was set in seconds by a live control) is
/// written as the file value nearest to it, and that value then reads and writes back unchanged.
fn file_number(v_s: f64, per_s: f64) -> String {
    fn exact(v_s: f64, per_s: f64) -> Option<f64> {
        let x = v_s * per_s;
        (1..=17)
            .filter_map(|digits| format!("{:.*e}", digits - 1, x).parse::<f64>().ok())
            .chain([x, x.next_down(), x.next_up()])
            .find(|c| c / per_s == v_s)
    }
    if !v_s.is_finite() {
        return num(v_s * per_s);
    }
    let x = exact(v_s, per_s).or_else(|| exact((v_s * per_s) / per_s, per_s)).unwrap_or(v_s * per_s);
    num(x)
}

/// A TOML basic string.
fn string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A distribution in the file's unit (`per_s` file units per second: 1000 for `_ms` fields).
fn dist(d: &Dist, per_s: f64) -> String {
    let f = |v: f64| file_number(v, per_s);
    match d {
        Dist::Const(v) => f(*v),
        Dist::Exp { mean } => format!("{{ dist = \"exp\", mean = {} }}", f(*mean)),
        Dist::Uniform { min, max } => {
            format!("{{ dist = \"uniform\", min = {}, max = {} }}", f(*min), f(*max))
        }
        Dist::LogNormal { mean, cv, .. } => {
            format!("{{ dist = \"lognormal\", mean = {}, cv = {} }}", f(*mean), num(*cv))
        }
        Dist::Erlang { mean, k, .. } => format!("{{ dist = \"erlang\", mean = {}, k = {k} }}", f(*mean)),
        Dist::Pareto { mean, alpha, .. } => {
            format!("{{ dist = \"pareto\", mean = {}, alpha = {} }}", f(*mean), num(*alpha))
        }
        Dist::Empirical { values } => {
            let v: Vec<String> = values.iter().map(|v| f(*v)).collect();
            format!("{{ dist = \"empirical\", values = [{}] }}", v.join(", "))
        }
    }
}

/// The scenario as a TOML scenario file. Every server is written out in full (a preset it came
/// from is noted in a comment, since its values are already merged in).
pub fn to_toml(s: &Scenario) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "name = {}", string(&s.name));
    run_and_machine(&mut o, s);
    load(&mut o, &s.load);
    for c in &s.load.clients {
        client(&mut o, c);
    }
    // A demand the replayed log gives is read from it again, not written.
    let logged_io = match &s.load.arrival {
        Arrival::Log(log) => log.demand.map(|d| d.io),
        _ => None,
    };
    for c in &s.requests {
        request(&mut o, c, logged_io);
    }
    for v in &s.servers {
        server(&mut o, v);
    }
    for c in &s.claims {
        let _ = writeln!(o, "\n[[claim]]\nsays = {}\ncheck = {}", string(&c.says), string(&c.claim.source));
    }
    o
}

/// `[run]`, `[machine]` and `[backend]`.
fn run_and_machine(o: &mut String, s: &Scenario) {
    let r = &s.run;
    let _ = writeln!(
        o,
        "\n[run]\nduration_s = {}\nwarmup_s = {}\nseed = {}\nreplications = {}\nwindow_s = {}",
        num(r.duration_s),
        num(r.warmup_s),
        r.seed,
        r.replications,
        num(r.window_s)
    );
    let _ = writeln!(o, "\n[machine]\ncores = {}\ntime_slice_ms = {}", s.machine.cores, num(s.machine.time_slice_ms));
    if let Some(m) = s.machine.memory_mb {
        let _ = writeln!(
            o,
            "memory_mb = {}\nswap_mb = {}\nswap_slowdown = {}",
            num(m),
            num(s.machine.swap_mb),
            num(s.machine.swap_slowdown)
        );
    }
    if let Some(b) = s.backend {
        let _ = writeln!(o, "\n[backend]\nworkers = {}\nconnections = {}", b.workers, b.connections);
    }
}

/// `[load]`.
fn load(o: &mut String, l: &LoadConfig) {
    o.push_str("\n[load]\n");
    match &l.arrival {
        Arrival::Poisson | Arrival::Uniform => {
            let name = if matches!(l.arrival, Arrival::Poisson) { "poisson" } else { "uniform" };
            let _ = writeln!(o, "arrival = \"{name}\"\nrate_rps = {}", num(l.rate_rps));
            if !l.schedule.is_empty() {
                let steps: Vec<String> = l
                    .schedule
                    .iter()
                    .map(|st| format!("{{ at_s = {}, rate_rps = {} }}", num(st.at_s), num(st.rate_rps)))
                    .collect();
                let _ = writeln!(o, "schedule = [{}]", steps.join(", "));
            }
        }
        Arrival::Log(log) => {
            // The resolved path, so the saved file finds the log from wherever it is saved.
            let _ = writeln!(o, "arrival = \"log\"\nlog_file = {}", string(&log.path));
            if log.time_scale != 1.0 {
                let _ = writeln!(o, "time_scale = {}", num(log.time_scale));
            }
            if let Some(d) = log.demand {
                let which = if d.io { "io" } else { "cpu" };
                let _ = writeln!(o, "log_time = {}\nlog_demand = \"{which}\"", string(d.time.name()));
            }
        }
        Arrival::Closed { users, think_s } => {
            let _ = writeln!(o, "arrival = \"closed\"\nusers = {users}\nthink_ms = {}", dist(think_s, 1e3));
        }
    }
    if let Some(t) = l.timeout_s {
        let _ = writeln!(o, "timeout_s = {}", num(t));
    }
    if l.retries > 0 {
        let _ = writeln!(o, "retries = {}\nretry_backoff_ms = {}", l.retries, file_number(l.retry_backoff_s, 1e3));
    }
    if l.requests_per_connection != 1 {
        let _ = writeln!(o, "requests_per_connection = {}", l.requests_per_connection);
    }
    if !matches!(l.arrival, Arrival::Closed { .. }) {
        if !matches!(l.connection_gap_s, sim::Dist::Const(g) if g == 0.0) {
            let _ = writeln!(o, "connection_gap_ms = {}", dist(&l.connection_gap_s, 1e3));
        }
        if l.client_keeps_open {
            o.push_str("client_keeps_open = true\n");
        }
    }
}

/// One `[[load.clients]]`.
fn client(o: &mut String, c: &ClientClass) {
    let _ = writeln!(
        o,
        "\n[[load.clients]]\nname = {}\nweight = {}\nbandwidth_kbps = {}\nrtt_ms = {}",
        string(&c.name),
        num(c.weight),
        num(c.bandwidth_kbps),
        file_number(c.rtt_s, 1e3)
    );
    if c.header_s > 0.0 {
        let _ = writeln!(o, "header_s = {}", num(c.header_s));
    }
    if !c.reads {
        o.push_str("reads = false\n");
    }
}

/// One `[[request]]`.
/// A `[[request]]`; `logged_io` says which demand (`io_ms` if true, `cpu_ms` if false) comes from
/// a replayed log and is left out.
fn request(o: &mut String, c: &RequestClass, logged_io: Option<bool>) {
    let _ = writeln!(o, "\n[[request]]\nname = {}\nweight = {}", string(&c.name), num(c.weight));
    if logged_io != Some(false) {
        let _ = writeln!(o, "cpu_ms = {}", dist(&c.cpu_s, 1e3));
    }
    if logged_io != Some(true) {
        let _ = writeln!(o, "io_ms = {}", dist(&c.io_s, 1e3));
    }
    if c.request_kb > 0.0 {
        let _ = writeln!(o, "request_kb = {}", num(c.request_kb));
    }
    if c.response_kb > 0.0 {
        let _ = writeln!(o, "response_kb = {}", num(c.response_kb));
    }
    if c.is_static {
        o.push_str("static = true\n");
    }
    if c.crash_fraction > 0.0 {
        let _ = writeln!(o, "crash_fraction = {}", num(c.crash_fraction));
    }
    if c.hang_fraction > 0.0 {
        let kind = if c.hang == Hang::Io { "io" } else { "cpu" };
        let _ = writeln!(o, "hang_fraction = {}\nhang = \"{kind}\"", num(c.hang_fraction));
    }
    if c.leak_kb > 0.0 {
        let _ = writeln!(o, "leak_kb = {}", num(c.leak_kb));
    }
    if c.io_calls > 1 {
        let _ = writeln!(o, "io_calls = {}", c.io_calls);
    }
    if c.memory_hog_mb > 0.0 {
        let _ = writeln!(o, "memory_hog_mb = {}", num(c.memory_hog_mb));
    }
    if let Some(u) = &c.url {
        let _ = writeln!(o, "url = {}", string(u));
    }
}

/// One `[[server]]`: its identity and own fields, its options, and the common settings.
fn server(o: &mut String, v: &ServerConfig) {
    o.push_str("\n[[server]]\n");
    if let Some(p) = &v.preset {
        let _ = writeln!(o, "# started from preset \"{p}\"");
    }
    let _ = writeln!(o, "name = {}\narchitecture = \"{}\"", string(&v.name), v.architecture.id());
    for (field, value) in (crate::architectures::info(v.architecture).own_fields)(v) {
        let _ = match value {
            FieldValue::Whole(n) => writeln!(o, "{field} = {n}"),
            FieldValue::Bool(b) => writeln!(o, "{field} = {b}"),
            FieldValue::Number(x) => writeln!(o, "{field} = {}", num(x)),
            FieldValue::Milliseconds(t_s) => writeln!(o, "{field} = {}", file_number(t_s, 1e3)),
        };
    }
    server_options(o, v);
    let _ = writeln!(
        o,
        "gil = {}\ngil_switch_ms = {}\ngil_switch_cost_ms = {}\nprocess_mb = {}\nshared_mb = {}\nthread_mb = {}\nmemory_kb = {}\nrespawn_ms = {}\nsocket_buffer_kb = {}",
        v.gil,
        file_number(v.gil_switch_s, 1e3),
        file_number(v.gil_switch_cost_s, 1e3),
        num(v.process_mb),
        num(v.shared_mb),
        num(v.thread_mb),
        num(v.memory_kb),
        file_number(v.respawn_s, 1e3),
        num(v.socket_buffer_kb)
    );
}

/// A server's optional settings, written only when set.
fn server_options(o: &mut String, v: &ServerConfig) {
    if let Some(b) = v.listen_backlog {
        let _ = writeln!(o, "listen_backlog = {b}");
    }
    if let Some(t) = v.queue_timeout_s {
        let _ = writeln!(o, "queue_timeout_s = {}", num(t));
    }
    if let Some(t) = v.request_timeout_s {
        let _ = writeln!(o, "request_timeout_s = {}", num(t));
    }
    if v.queue_discipline == Discipline::Lifo {
        o.push_str("queue_discipline = \"lifo\"\n");
    }
    if v.accept != Accept::Shared {
        let _ = writeln!(o, "accept = \"{}\"", v.accept.as_str());
    }
    if let Some(n) = v.max_requests {
        let _ = writeln!(o, "max_requests = {n}\nspawn_ms = {}", file_number(v.spawn_s, 1e3));
    }
    if v.app_mb > 0.0 || v.import_s > 0.0 || v.preload {
        let _ = writeln!(
            o,
            "app_mb = {}\nimport_ms = {}\npreload = {}",
            num(v.app_mb),
            file_number(v.import_s, 1e3),
            v.preload
        );
    }
    if let Some(t) = v.header_timeout_s {
        let _ = writeln!(o, "header_timeout_s = {}", num(t));
    }
    if let Some(n) = v.db_pool {
        let _ = writeln!(o, "db_pool = {n}");
    }
    if let Some(d) = v.dynamic {
        let _ = writeln!(
            o,
            "start_processes = {}\nmin_spare_workers = {}\nmax_spare_workers = {}",
            d.start_processes, d.min_spare_workers, d.max_spare_workers
        );
    }
    if let Some(kb) = v.output_buffer_kb {
        let _ = writeln!(o, "output_buffer_kb = {}", num(kb));
    }
    if let Some(t) = v.keepalive_timeout_s {
        let _ = writeln!(o, "keepalive_timeout_s = {}\nkeepalive_kb = {}", num(t), num(v.keepalive_kb));
        if let Some(n) = v.keepalive_requests {
            let _ = writeln!(o, "keepalive_requests = {n}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{DEFAULT_SCENARIO, parse};

    /// Writing and re-reading reaches a fixed point, for the default
    /// scenario and every shipped example; the re-read scenario has the same servers and means.
    #[test]
    fn round_trips() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut texts = vec![(DEFAULT_SCENARIO.to_string(), "default.toml".to_string())];
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "toml") {
                texts.push((std::fs::read_to_string(&path).unwrap(), path.display().to_string()));
            }
        }
        for (text, file) in texts {
            // Parsed under its own path, so a log_file it names is found.
            let a = parse(&text, &file).unwrap();
            let written = to_toml(&a);
            let b = parse(&written, "written").unwrap_or_else(|e| panic!("{e}\n{written}"));
            // From the second generation on the text is a fixed point (the first may carry a
            // comment naming the preset a server came from, which re-reading drops).
            let again = to_toml(&b);
            assert_eq!(to_toml(&parse(&again, "again").unwrap()), again);
            assert_eq!(a.servers.len(), b.servers.len());
            for (x, y) in a.requests.iter().zip(&b.requests) {
                assert!((x.cpu_s.mean() - y.cpu_s.mean()).abs() < 1e-12);
                assert!((x.io_s.mean() - y.io_s.mean()).abs() < 1e-12);
            }
            for (x, y) in a.servers.iter().zip(&b.servers) {
                assert_eq!(
                    (x.processes, x.threads, x.listen_backlog, x.gil),
                    (y.processes, y.threads, y.listen_backlog, y.gil)
                );
                assert_eq!(x.name, y.name);
                assert_eq!(
                    (x.keepalive_timeout_s, x.keepalive_requests, x.keepalive_kb),
                    (y.keepalive_timeout_s, y.keepalive_requests, y.keepalive_kb)
                );
                assert_eq!(
                    (x.header_timeout_s, x.app_mb, x.import_s, x.preload, x.output_buffer_kb, x.dynamic),
                    (y.header_timeout_s, y.app_mb, y.import_s, y.preload, y.output_buffer_kb, y.dynamic)
                );
            }
            assert_eq!(a.backend, b.backend, "{file}");
            for (x, y) in a.servers.iter().zip(&b.servers) {
                assert_eq!((x.dynamic, x.db_pool), (y.dynamic, y.db_pool), "{file}");
            }
            for (x, y) in a.load.clients.iter().zip(&b.load.clients) {
                assert_eq!((x.header_s, x.reads), (y.header_s, y.reads));
            }
            assert_eq!(
                (
                    a.load.requests_per_connection,
                    a.load.client_keeps_open,
                    a.load.connection_gap_s.mean(),
                    a.load.retries,
                    a.load.retry_backoff_s
                ),
                (
                    b.load.requests_per_connection,
                    b.load.client_keeps_open,
                    b.load.connection_gap_s.mean(),
                    b.load.retries,
                    b.load.retry_backoff_s
                ),
                "{file}"
            );
        }
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("a \"b\"\\"), "\"a \\\"b\\\"\\\\\"");
    }
}

#[cfg(test)]
mod file_number_tests {
    use super::*;

    /// The parser turns a `_ms` file value x into x / 1000 seconds; the writer must give back a
    /// value that the parser turns into exactly the same seconds (found by the fuzzer: 59.000…014
    /// ms went to seconds and came back as 59.000…01 ms, so a saved file changed on every save).
    #[test]
    fn millisecond_values_survive_a_write_and_read_exactly() {
        let read = |text: &str| text.parse::<f64>().unwrap() / 1e3;
        for ms in [59.000000000000014, 0.1, 0.3, 5.0, 1e-9, 123456.789, 2.0 / 3.0, 1e300] {
            let s = ms / 1e3;
            assert_eq!(read(&file_number(s, 1e3)).to_bits(), s.to_bits(), "{ms} ms");
        }
        // Seconds set directly (a live control): whatever is written reads back to a value that
        // is then written unchanged.
        for s in [0.1 + 0.2, 1.0 / 3.0, 0.0123 * 7.0, 2.5e-7] {
            let once = file_number(s, 1e3);
            assert_eq!(file_number(read(&once), 1e3), once, "{s} s");
        }
        assert_eq!(file_number(0.005, 1e3), "5.0");
    }
}
