//! Registry-driven tests: every architecture in `REGISTRY` is checked for what it declares about
//! itself — its starter, its own fields, its sizes and its capabilities — so a new architecture
//! is covered by being registered.

use models::architectures::{ArchitectureInfo, FieldValue, REGISTRY};
use models::scenario::{self, write::to_toml};

/// A scenario with one server whose `[[server]]` table ends with `extra` lines.
fn one_server(a: &ArchitectureInfo, extra: &str) -> String {
    let mut required = String::new();
    for f in a.required() {
        required.push_str(&format!("{f} = 2\n"));
    }
    format!(
        "name = \"registry\"\n[run]\nduration_s = 10.0\n[machine]\ncores = 2\n[load]\narrival = \"poisson\"\n\
         rate_rps = 10.0\n[[request]]\nname = \"page\"\ncpu_ms = 1.0\n[[server]]\nname = \"s\"\n\
         architecture = \"{}\"\n{required}{extra}\n",
        a.id
    )
}

/// A valid value of each architecture-specific field, as a file writes it. A field an
/// architecture declares that is missing here fails the test: add it.
fn sample(field: &str) -> Option<&'static str> {
    Some(match field {
        "threads" | "processes" | "daemons" | "max_processes" | "frontend_processes" => "3",
        "blocking_io" => "true",
        "offload_threads" => "4\nblocking_io = true",
        "frontend_mb" => "12.5",
        "startup_ms" => "150.0",
        _ => return None,
    })
}

#[test]
fn every_starter_round_trips_through_the_file_format() {
    let mut s = scenario::default_scenario();
    s.servers = REGISTRY.iter().map(|a| a.starter()).collect();
    s.claims.clear(); // they name the default servers
    let text = to_toml(&s);
    let back = scenario::parse(&text, "starters.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back.servers.len(), REGISTRY.len());
    for (a, (got, want)) in REGISTRY.iter().zip(back.servers.iter().zip(&s.servers)) {
        assert_eq!(got.architecture, a.kind);
        assert_eq!((got.processes, got.threads, got.gil), (want.processes, want.threads, want.gil), "{}", a.id);
    }
    assert_eq!(to_toml(&back), text, "writing what was read gives the same file");
}

#[test]
fn the_starter_has_the_sizes_the_architecture_names() {
    for a in &REGISTRY {
        let s = a.starter();
        let p = a.sizes.processes.map_or(1, |f| f.starter);
        let t = a.sizes.threads.map_or(1, |f| f.starter);
        assert_eq!((s.processes, s.threads), (p, t), "{}", a.id);
        assert!(p >= 1 && t >= 1, "{}: a starter has workers", a.id);
    }
}

#[test]
fn every_field_an_architecture_lists_parses_and_no_other_does() {
    let all: Vec<&str> = REGISTRY.iter().flat_map(|a| a.field_names()).collect();
    for a in &REGISTRY {
        for f in &all {
            let value = sample(f).unwrap_or_else(|| panic!("add a sample value for `{f}` to this test"));
            let text = if a.required().any(|r| r == *f) {
                one_server(a, "")
            } else {
                one_server(a, &format!("{f} = {value}"))
            };
            let parsed = scenario::parse(&text, "field.toml");
            assert_eq!(parsed.is_ok(), a.has_field(f), "{} with `{f}`: {:?}\n{text}", a.id, parsed.err());
        }
    }
}

#[test]
fn sizes_and_written_fields_are_the_architectures_own() {
    for a in &REGISTRY {
        for f in [a.sizes.processes, a.sizes.threads].into_iter().flatten() {
            assert!(a.has_field(f.field), "{}: size field `{}` is one of its fields", a.id, f.field);
            assert!(!f.label.is_empty());
        }
        let written = (a.own_fields)(&a.starter());
        for (f, _) in &written {
            assert!(a.has_field(f), "{} writes `{f}`, which is not one of its fields", a.id);
        }
        for f in a.required() {
            assert!(written.iter().any(|(w, _)| *w == f), "{} must write its required `{f}`", a.id);
        }
        for (f, v) in &written {
            if let Some(size) = [a.sizes.processes, a.sizes.threads].into_iter().flatten().find(|s| s.field == *f) {
                assert_eq!(*v, FieldValue::Whole(size.starter), "{}: `{f}` is written as its value", a.id);
            }
        }
    }
}

/// Validation accepts a common feature's field exactly for the architectures that declare the
/// feature, so a new architecture gains or loses features only by saying so.
#[test]
fn validation_follows_the_declared_capabilities() {
    for a in &REGISTRY {
        let c = a.capabilities;
        let cases = [
            ("start_processes = 1", c.dynamic_pool.is_some()),
            ("output_buffer_kb = 64", c.output_buffer),
            ("app_mb = 10.0", c.app_import),
            ("import_ms = 100.0", c.app_import),
            ("preload = true", c.preload),
            ("max_requests = 100", c.recycling),
            ("queue_discipline = \"lifo\"", c.lifo),
            ("accept = \"random\"", c.accept),
        ];
        for (line, supported) in cases {
            let text = one_server(a, line);
            let parsed = scenario::parse(&text, "capability.toml");
            assert_eq!(parsed.is_ok(), supported, "{} with `{line}`: {:?}", a.id, parsed.err());
        }
    }
}
