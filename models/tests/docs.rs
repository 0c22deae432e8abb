//! The reference documents list what the code declares: a column, field or metric added to the
//! code without its line in `docs/` fails here.

use models::metrics::SeriesRow;

/// The backticked names in the first cell of each row of the table under `heading`.
fn first_column_names(doc: &str, heading: &str) -> Vec<String> {
    let start = doc.find(heading).unwrap_or_else(|| panic!("the document has a section `{heading}`"));
    let section = &doc[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut names = Vec::new();
    for row in section.lines().filter(|l| l.starts_with('|')).skip(2) {
        let cell = row.split('|').nth(1).unwrap_or_default();
        names.extend(cell.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    names
}

#[test]
fn the_series_columns_documented_are_the_ones_written_in_order() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/output-format.md"))
        .expect("docs/output-format.md reads");
    let documented = first_column_names(&doc, "## `--series FILE.csv`");
    let written: Vec<String> =
        ["server", "architecture"].into_iter().chain(SeriesRow::COLUMNS.iter().copied()).map(str::to_owned).collect();
    assert_eq!(documented, written, "docs/output-format.md's series table against SeriesRow::COLUMNS");
}

#[test]
fn the_series_csv_header_is_the_declared_columns() {
    let csv = models::runner::series_csv_of([("s", "threaded", &[SeriesRow::default()][..])]);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    assert_eq!(header.len(), 2 + SeriesRow::COLUMNS.len());
    assert_eq!(row.len(), header.len(), "every column has a value");
    assert_eq!(&header[2..], SeriesRow::COLUMNS);
}

/// The lines of the first Markdown table after the heading starting with `heading` (skipping
/// `skip` tables), with a final newline.
fn table_after(doc: &str, heading: &str, skip: usize) -> String {
    let lines: Vec<&str> = doc.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with(heading))
        .unwrap_or_else(|| panic!("docs/scenario-format.md has a heading `{heading}`"));
    let mut tables = Vec::new();
    let mut i = start + 1;
    while i < lines.len() && !(lines[i].starts_with("## ") && i > start) {
        if lines[i].starts_with('|') {
            let j = (i..lines.len()).find(|&j| !lines[j].starts_with('|')).unwrap_or(lines.len());
            tables.push(lines[i..j].iter().map(|l| format!("{l}\n")).collect::<String>());
            i = j;
        } else {
            i += 1;
        }
    }
    tables.into_iter().nth(skip).unwrap_or_else(|| panic!("a table under `{heading}`"))
}

fn scenario_format() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/scenario-format.md"))
        .expect("docs/scenario-format.md reads")
}

#[test]
fn the_scenario_reference_is_the_declared_fields() {
    use models::scenario::fields::{TABLES, markdown, own_fields_markdown};
    let doc = scenario_format();
    for t in TABLES {
        assert_eq!(
            table_after(&doc, t.heading, 0),
            markdown(t.fields),
            "docs/scenario-format.md under `{}` against models/src/scenario/fields.rs (the expected table is on the right)",
            t.heading
        );
    }
    assert_eq!(
        table_after(&doc, "## `[[server]]`", 1),
        own_fields_markdown(),
        "docs/scenario-format.md's architecture-specific fields against each architecture's FIELDS"
    );
}

/// The names serde accepts in `table` of a scenario file: a file with an unknown field there is
/// refused with "expected one of `a`, `b`, …".
fn accepted_names(table: &str) -> Vec<String> {
    let base = "[load]\narrival = \"poisson\"\nrate_rps = 1.0\n[[request]]\ncpu_ms = 1.0\n";
    let server = "[[server]]\narchitecture = \"threaded\"\nthreads = 1\n";
    let text = match table {
        "" => format!("zzz = 1\n{base}{server}"),
        "load" => format!("{}{server}", base.replacen("[load]\n", "[load]\nzzz = 1\n", 1)),
        "load.clients" => format!("{base}{server}[[load.clients]]\nname = \"c\"\nzzz = 1\n"),
        "request" => format!("{base}zzz = 1\n{server}"),
        "server" => format!("{base}{server}zzz = 1\n"),
        "claim" => format!("{base}{server}[[claim]]\nsays = \"s\"\ncheck = \"1 < 2\"\nzzz = 1\n"),
        other => format!("{base}{server}[{other}]\nzzz = 1\n"),
    };
    let err = models::scenario::parse(&text, "names.toml").expect_err("an unknown field is refused").to_string();
    // serde says "expected `a`", "expected `a` or `b`" or "expected one of `a`, `b`, …".
    let list = err.split(", expected ").nth(1).unwrap_or_else(|| panic!("serde lists the fields: {err}"));
    let list = list.lines().next().unwrap_or_default().trim_start_matches("one of ");
    list.split(", ").flat_map(|n| n.split(" or ")).map(|n| n.trim().trim_matches('`').to_owned()).collect()
}

#[test]
fn the_parser_accepts_exactly_the_declared_fields() {
    use models::architectures::REGISTRY;
    use models::scenario::fields::TABLES;
    for t in TABLES {
        let mut declared: Vec<String> = t.fields.iter().map(|f| f.name.to_owned()).collect();
        if t.table == "server" {
            declared.extend(REGISTRY.iter().flat_map(|a| a.field_names()).map(str::to_owned));
        }
        declared.sort();
        declared.dedup();
        let mut accepted = accepted_names(t.table);
        accepted.sort();
        // A table also holds its sub-tables (the top level `[run]`, …; `[load]` its clients).
        let prefix = if t.table.is_empty() { String::new() } else { format!("{}.", t.table) };
        accepted.retain(|n| !TABLES.iter().any(|u| u.table.strip_prefix(prefix.as_str()) == Some(n.as_str())));
        assert_eq!(accepted, declared, "the fields of `{}`: parsed (left) against declared (right)", t.table);
    }
}

/// `to_toml` writes only declared fields: every key of every table it writes, for the default
/// scenario and every example, is in the table's declaration (a server's: the common fields
/// and its architecture's own).
#[test]
fn write_back_uses_only_the_declared_fields() {
    use models::architectures::REGISTRY;
    use models::scenario::fields::{TABLES, table};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut scenarios = vec![models::scenario::default_scenario()];
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            scenarios.push(models::scenario::load(&path).unwrap());
        }
    }
    let declared = |path: &str| -> Vec<String> {
        let mut names: Vec<String> =
            table(path).map_or(Vec::new(), |t| t.fields.iter().map(|f| f.name.to_owned()).collect());
        if path == "server" {
            names.extend(REGISTRY.iter().flat_map(|a| a.field_names()).map(str::to_owned));
        }
        // Sub-tables are keys too.
        let prefix = if path.is_empty() { String::new() } else { format!("{path}.") };
        names.extend(
            TABLES
                .iter()
                .filter_map(|t| t.table.strip_prefix(prefix.as_str()))
                .filter(|r| !r.is_empty() && !r.contains('.'))
                .map(str::to_owned),
        );
        names
    };
    let mut checked = 0;
    for sc in &scenarios {
        let text = models::scenario::write::to_toml(sc);
        let value: toml::Table = text.parse().expect("to_toml writes TOML");
        let mut stack: Vec<(String, &toml::Table)> = vec![(String::new(), &value)];
        while let Some((path, t)) = stack.pop() {
            let allowed = declared(&path);
            for (k, v) in t {
                assert!(allowed.contains(k), "{}: to_toml wrote `{k}` in `{path}`, which is not declared", sc.name);
                checked += 1;
                let sub = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match v {
                    toml::Value::Table(inner) if table(&sub).is_some() => stack.push((sub, inner)),
                    toml::Value::Array(items) if table(&sub).is_some() => {
                        stack.extend(items.iter().filter_map(|i| i.as_table()).map(|i| (sub.clone(), i)))
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(checked > 500, "the walk saw the written fields ({checked})");
}

/// A scenario text built table by table, so one field can be set (or replaced) in one table.
struct Base {
    tables: Vec<(&'static str, Vec<(String, String)>)>,
}

impl Base {
    /// A valid scenario exercising every table: memory (for swap), a backend (for `db_pool`),
    /// retries (for their back-off), one client class, keep-alive (for its fields), and a server
    /// of `arch` at its starter sizes. `load` is the `[load]` table's lines.
    fn new(arch: &models::architectures::ArchitectureInfo, load: &[(&str, &str)]) -> Self {
        let kv = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut server: Vec<(String, String)> = kv(&[("architecture", &format!("\"{}\"", arch.id))]);
        for f in [arch.sizes.processes, arch.sizes.threads].into_iter().flatten() {
            server.push((f.field.to_string(), f.starter.to_string()));
        }
        server.push(("keepalive_timeout_s".into(), "5.0".into()));
        if arch.fields.iter().any(|f| f.name == "blocking_io") {
            server.push(("blocking_io".into(), "true".into()));
        }
        Base {
            tables: vec![
                ("", vec![]),
                ("[run]", kv(&[("duration_s", "10.0")])),
                ("[machine]", kv(&[("cores", "2"), ("memory_mb", "100000.0")])),
                ("[backend]", kv(&[("workers", "2"), ("connections", "2")])),
                ("[load]", kv(load)),
                ("[[load.clients]]", kv(&[("name", "\"c\""), ("bandwidth_kbps", "1000.0")])),
                ("[[request]]", kv(&[("cpu_ms", "1.0")])),
                ("[[server]]", server),
            ],
        }
    }

    /// The text with `name = value` in the table `table` (a TOML path, "" for the top level).
    fn with(&self, table: &str, name: &str, value: &str) -> String {
        let mut out = String::new();
        for (header, pairs) in &self.tables {
            let here = header.trim_matches(|c| c == '[' || c == ']') == table;
            out.push_str(header);
            out.push('\n');
            for (k, v) in pairs.iter().filter(|(k, _)| !(here && k == name)) {
                out.push_str(&format!("{k} = {v}\n"));
            }
            if here {
                out.push_str(&format!("{name} = {value}\n"));
            }
        }
        out
    }
}

/// Values outside and inside the range an `allowed` text states, if it states one this test
/// reads: `> 0`, `≥ 0`, `≥ 1`, `A … B` (optionally with `, ≤ B` after `> 0`).
fn range_probes(allowed: &str) -> Option<(Vec<f64>, Vec<f64>)> {
    let num = |s: &str| s.replace(',', "").parse::<f64>().ok();
    let end = r"(?:$|[;,(] | )";
    let re = |p: &str| regex::Regex::new(&format!("^{p}{end}")).unwrap();
    if let Some(c) = re(r"> 0, ≤ ([\d,]+)").captures(allowed) {
        let hi = num(&c[1])?;
        return Some((vec![0.0, -1.0, hi + 1.0], vec![1.0]));
    }
    if let Some(c) = re(r"([\d,.]+) … ([\d,.]+)").captures(allowed) {
        let (lo, hi) = (num(&c[1])?, num(&c[2])?);
        let step = if hi <= 1.0 { 0.5 } else { 1.0 };
        return Some((vec![lo - step, hi + step], vec![lo]));
    }
    if re("> 0").is_match(allowed) {
        return Some((vec![0.0, -1.0], vec![1.0]));
    }
    if re("≥ 0").is_match(allowed) {
        return Some((vec![-1.0], vec![0.0]));
    }
    if re("≥ 1").is_match(allowed) {
        return Some((vec![0.0], vec![1.0]));
    }
    None
}

/// The problems the scenario `text` has on the field `table.name` (indices dropped).
fn problems_at(text: &str, table: &str, name: &str) -> Vec<String> {
    let want = if table.is_empty() { name.to_string() } else { format!("{table}.{name}") };
    match models::scenario::parse(text, "probe.toml") {
        Ok(_) => Vec::new(),
        Err(e) => e
            .problems()
            .iter()
            .filter(|p| {
                let mut f = p.field.clone();
                while let (Some(a), Some(b)) = (f.find('['), f.find(']')) {
                    f.replace_range(a..=b, "");
                }
                f == want
            })
            .map(|p| p.message.clone())
            .collect(),
    }
}

/// Every numeric range the field reference states is the range the validator enforces, and the
/// message quotes the reference: for each field whose `allowed` reads `> 0`, `≥ 0`, `≥ 1` or
/// `A … B` (the common tables and every architecture's own fields), some valid scenario refuses
/// each value just outside with "allowed: <the reference's text>" on that field, and accepts the
/// lower end. (A whole-number field cannot hold -1: its type refuses it, which is enough there;
/// the upper end can meet another limit, such as processes × threads, so it is not probed.)
#[test]
fn every_stated_range_is_enforced_and_quoted() {
    use models::architectures::REGISTRY;
    use models::scenario::fields::TABLES;
    let log = std::env::temp_dir().join(format!("serversim-docs-probe-{}.log", std::process::id()));
    std::fs::write(&log, "1.2.3.4 - - [21/Nov/2025:12:00:00 +0000] \"GET / HTTP/1.1\" 200 512\n1.2.3.4 - - [21/Nov/2025:12:00:01 +0000] \"GET / HTTP/1.1\" 200 512\n").unwrap();
    let log_file = format!("{:?}", log.display().to_string());
    let loads: [Vec<(&str, &str)>; 3] = [
        vec![("arrival", "\"poisson\""), ("rate_rps", "1.0"), ("retries", "1")],
        vec![("arrival", "\"closed\""), ("users", "1")],
        vec![("arrival", "\"log\""), ("log_file", &log_file)],
    ];
    let mut fields: Vec<(&str, &str, &str, Vec<&models::architectures::ArchitectureInfo>)> = Vec::new();
    for t in TABLES {
        for f in t.fields {
            let archs = if t.table == "server" { REGISTRY.iter().collect() } else { vec![&REGISTRY[0]] };
            fields.push((t.table, f.name, f.allowed, archs));
        }
    }
    for a in &REGISTRY {
        for f in a.fields {
            fields.push(("server", f.name, f.allowed, vec![a]));
        }
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for (table, name, allowed, archs) in fields {
        let Some((outside, inside)) = range_probes(allowed) else { continue };
        let quoted = format!("allowed: {allowed}");
        let fits = |base: &Base, v: f64| {
            let text = base.with(table, name, &format!("{v:?}"));
            let whole = base.with(table, name, &format!("{}", v as i64));
            let is_integer = problems_at(&base.with(table, name, "0.5"), table, name)
                .iter()
                .any(|m| m.contains("invalid type") || m.contains("expected"));
            if is_integer && v < 0.0 {
                // A whole-number field: its type refuses a negative value (any message will do).
                let refused = !problems_at(&text, table, name).is_empty();
                Some(if refused { vec![quoted.clone()] } else { Vec::new() })
            } else if is_integer {
                (v.fract() == 0.0).then(|| problems_at(&whole, table, name))
            } else {
                Some(problems_at(&text, table, name))
            }
        };
        let enforced = archs.iter().flat_map(|a| loads.iter().map(move |l| Base::new(a, l))).any(|base| {
            let refused = outside.iter().filter_map(|&v| fits(&base, v)).collect::<Vec<_>>();
            !refused.is_empty()
                && refused.iter().all(|msgs| msgs.iter().any(|m| m.contains(&quoted)))
                && inside.iter().filter_map(|&v| fits(&base, v)).all(|msgs| msgs.is_empty())
        });
        checked += 1;
        if !enforced {
            // What the first base says, to show where the validator and the reference differ.
            let base = Base::new(archs[0], &loads[0]);
            let said: Vec<_> = outside.iter().chain(&inside).map(|&v| (v, fits(&base, v))).collect();
            failures.push(format!("{table}.{name} ({allowed}): {said:?}"));
        }
    }
    let _ = std::fs::remove_file(&log);
    assert!(checked >= 40, "the probes read most ranges ({checked} read)");
    assert!(
        failures.is_empty(),
        "ranges the reference states but the validator does not enforce with that text: {failures:#?}"
    );
}

/// The `--json` schema in `docs/output-format.md` lists every metric `json::METRICS` declares, in
/// the order written, and then the other keys of a server's object.
#[test]
fn the_json_schema_documented_is_the_declared_metrics() {
    use models::json::{Entry, METRICS, OTHER_KEYS};
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/output-format.md"))
        .expect("docs/output-format.md reads");
    let start = doc.find("## `--json`").expect("a `--json` section");
    let block = &doc[start..];
    let block = &block[block.find("```").unwrap() + 3..];
    let block = &block[..block.find("```").unwrap()];
    let quoted: Vec<&str> = block.split('"').skip(1).step_by(2).collect();
    let mut declared = vec!["scenario", "seed", "replications", "servers", "name", "architecture"];
    for e in METRICS {
        match e {
            Entry::Metric(m) => declared.push(m.key),
            Entry::Group { key, metrics, .. } => {
                declared.push(key);
                declared.extend(metrics.iter().map(|m| m.key));
            }
        }
    }
    assert_eq!(&quoted[..declared.len().min(quoted.len())], &declared[..], "documented (left) against json::METRICS");
    let rest = &quoted[declared.len()..];
    let mut at = 0;
    for k in OTHER_KEYS {
        at += rest[at..].iter().position(|q| *q == k).unwrap_or_else(|| panic!("`{k}` documented after the metrics"));
    }
}
