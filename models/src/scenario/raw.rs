//! The scenario file as written (serde types, every field optional so presets can be merged),
//! before validation turns it into `config` types. Serde stays at this boundary.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// The whole file.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<String>,
    pub run: Option<RawRun>,
    pub machine: Option<RawMachine>,
    pub load: Option<RawLoad>,
    pub request: Option<Vec<RawRequest>>,
    pub server: Option<Vec<RawServer>>,
    pub backend: Option<RawBackend>,
    pub claim: Option<Vec<RawClaim>>,
}

/// One `[[claim]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClaim {
    pub says: String,
    pub check: String,
}

/// `[backend]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackend {
    pub workers: Option<u32>,
    pub connections: Option<u32>,
}

/// `[run]`
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    pub duration_s: Option<f64>,
    pub warmup_s: Option<f64>,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    pub window_s: Option<f64>,
}

/// `[machine]`
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawMachine {
    pub cores: Option<u32>,
    pub memory_mb: Option<f64>,
    pub swap_mb: Option<f64>,
    pub swap_slowdown: Option<f64>,
    pub time_slice_ms: Option<f64>,
}

/// `[load]`
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLoad {
    pub arrival: Option<String>,
    pub rate_rps: Option<f64>,
    pub schedule: Option<Vec<RawStep>>,
    pub users: Option<u32>,
    pub think_ms: Option<RawDist>,
    pub timeout_s: Option<f64>,
    pub clients: Option<Vec<RawClient>>,
    pub log_file: Option<String>,
    pub time_scale: Option<f64>,
    pub requests_per_connection: Option<u32>,
    pub connection_gap_ms: Option<RawDist>,
    pub client_keeps_open: Option<bool>,
    pub retries: Option<u32>,
    pub retry_backoff_ms: Option<f64>,
}

/// One `[[load.clients]]` link.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    pub name: Option<String>,
    pub weight: Option<f64>,
    pub bandwidth_kbps: f64,
    pub rtt_ms: Option<f64>,
    pub header_s: Option<f64>,
    pub reads: Option<bool>,
}

/// One `[[load.schedule]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub at_s: f64,
    pub rate_rps: f64,
}

/// One `[[request]]` class.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    pub name: Option<String>,
    pub weight: Option<f64>,
    pub cpu_ms: Option<RawDist>,
    pub io_ms: Option<RawDist>,
    pub request_kb: Option<f64>,
    pub response_kb: Option<f64>,
    #[serde(rename = "static")]
    pub is_static: Option<bool>,
    pub crash_fraction: Option<f64>,
    pub hang_fraction: Option<f64>,
    pub hang: Option<String>,
    pub leak_kb: Option<f64>,
    pub memory_hog_mb: Option<f64>,
    pub io_calls: Option<u32>,
    pub url: Option<String>,
}

/// One `[[server]]` (or a preset's `[server]`).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub name: Option<String>,
    pub architecture: Option<String>,
    pub preset: Option<String>,
    pub listen_backlog: Option<u32>,
    pub gil: Option<bool>,
    pub gil_switch_ms: Option<f64>,
    pub gil_switch_cost_ms: Option<f64>,
    pub process_mb: Option<f64>,
    pub shared_mb: Option<f64>,
    pub thread_mb: Option<f64>,
    pub memory_kb: Option<f64>,
    pub threads: Option<u32>,
    pub processes: Option<u32>,
    pub blocking_io: Option<bool>,
    pub offload_threads: Option<u32>,
    pub daemons: Option<u32>,
    pub queue_timeout_s: Option<f64>,
    pub frontend_processes: Option<u32>,
    pub frontend_mb: Option<f64>,
    pub max_processes: Option<u32>,
    pub startup_ms: Option<f64>,
    pub respawn_ms: Option<f64>,
    pub socket_buffer_kb: Option<f64>,
    pub request_timeout_s: Option<f64>,
    pub max_requests: Option<u32>,
    pub spawn_ms: Option<f64>,
    pub queue_discipline: Option<String>,
    pub accept: Option<String>,
    pub keepalive_timeout_s: Option<f64>,
    pub keepalive_requests: Option<u32>,
    pub keepalive_kb: Option<f64>,
    pub header_timeout_s: Option<f64>,
    pub app_mb: Option<f64>,
    pub import_ms: Option<f64>,
    pub preload: Option<bool>,
    /// A size in KB or the word "unbounded".
    pub output_buffer_kb: Option<toml::Value>,
    pub start_processes: Option<u32>,
    pub min_spare_workers: Option<u32>,
    pub max_spare_workers: Option<u32>,
    pub db_pool: Option<u32>,
}

macro_rules! overlay {
    ($self:ident, $base:ident; $($f:ident),*) => {
        $( if $self.$f.is_none() { $self.$f = $base.$f.clone(); } )*
    };
}

impl RawServer {
    /// Fill every field this server leaves unset from `base` (a preset).
    pub fn overlay(&mut self, base: &RawServer) {
        overlay!(self, base; name, architecture, listen_backlog, gil, gil_switch_ms, gil_switch_cost_ms, process_mb, shared_mb,
            thread_mb, memory_kb, threads, processes, blocking_io, offload_threads, daemons, queue_timeout_s,
            frontend_processes, frontend_mb, max_processes, startup_ms, respawn_ms, socket_buffer_kb, request_timeout_s, max_requests, spawn_ms, queue_discipline, accept,
            keepalive_timeout_s, keepalive_requests, keepalive_kb, header_timeout_s,
            app_mb, import_ms, preload, output_buffer_kb,
            start_processes, min_spare_workers, max_spare_workers, db_pool);
    }

    /// The architecture-specific fields that are set, by their file names.
    /// The value of the pool-size field named `field` (an architecture's `SizeField::field`).
    pub fn size(&self, field: &str) -> Option<u32> {
        match field {
            "processes" => self.processes,
            "daemons" => self.daemons,
            "max_processes" => self.max_processes,
            "threads" => self.threads,
            _ => None,
        }
    }

    pub fn specific_fields_set(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut add = |set: bool, name: &'static str| {
            if set {
                v.push(name);
            }
        };
        add(self.threads.is_some(), "threads");
        add(self.processes.is_some(), "processes");
        add(self.blocking_io.is_some(), "blocking_io");
        add(self.offload_threads.is_some(), "offload_threads");
        add(self.daemons.is_some(), "daemons");
        add(self.frontend_processes.is_some(), "frontend_processes");
        add(self.frontend_mb.is_some(), "frontend_mb");
        add(self.max_processes.is_some(), "max_processes");
        add(self.startup_ms.is_some(), "startup_ms");
        v
    }
}

/// A preset file: a description and a `[server]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPreset {
    pub description: String,
    pub server: RawServer,
}

/// A distribution as written: a bare number (a constant) or a table with `dist = "…"`.
#[derive(Debug, Clone)]
pub enum RawDist {
    /// A constant.
    Number(f64),
    /// A named distribution.
    Table(DistTable),
}

/// The named distributions and their parameters (in the field's unit).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum DistTable {
    Const { value: f64 },
    Exp { mean: f64 },
    Uniform { min: f64, max: f64 },
    Lognormal { mean: f64, cv: f64 },
    Erlang { mean: f64, k: u32 },
    Pareto { mean: f64, alpha: f64 },
    Empirical { values: Vec<f64> },
}

impl<'de> Deserialize<'de> for RawDist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawDist;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a number (a constant) or a table such as { dist = \"exp\", mean = 5.0 } \
                     (dist is one of const, exp, uniform, lognormal, erlang, pareto, empirical)",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawDist, E> {
                Ok(RawDist::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawDist, E> {
                Ok(RawDist::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawDist, E> {
                Ok(RawDist::Number(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawDist, A::Error> {
                DistTable::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawDist::Table)
            }
        }
        d.deserialize_any(V)
    }
}
