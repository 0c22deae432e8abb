//! The `--json` view of a report (schema in `docs/output-format.md`): every per-server metric is
//! declared once in `METRICS` — its place in the JSON, how it is derived from the replications
//! and, for estimates, its key in `ci95` — and the serialiser, the `ci95` object, lessons' claims
//! (which read this view) and the documentation test all take it from there.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use sim::stats::Estimate;

use crate::metrics::{RunResult, StopReason};
use crate::runner::{Report, ServerReport};

/// How one metric of a server is derived from its replications.
#[derive(Clone, Copy)]
pub enum Derive {
    /// The mean over replications; with more than one, its 95% half-width goes into `ci95` under
    /// `ci` (when named).
    Mean {
        /// The value of one replication.
        of: fn(&RunResult) -> f64,
        /// Its key in `ci95`, if it has one there.
        ci: Option<&'static str>,
    },
    /// The largest over replications.
    Max(fn(&RunResult) -> f64),
    /// The sum over replications (of a quantity such as CPU seconds).
    Sum(fn(&RunResult) -> f64),
    /// A count, summed over replications (written as an integer).
    Total(fn(&RunResult) -> u64),
}

/// One number of a server's JSON object.
#[derive(Clone, Copy)]
pub struct Metric {
    /// Its key (inside its group's object, if it is in one).
    pub key: &'static str,
    /// How it is derived.
    pub derive: Derive,
}

/// One entry of a server's JSON object, in order: a number, or an object of numbers.
#[derive(Clone, Copy)]
pub enum Entry {
    /// `"key": number`.
    Metric(Metric),
    /// `"key": { … }`; with `only_if`, `null` when the report does not satisfy it.
    Group {
        /// The object's key.
        key: &'static str,
        /// The condition for the object to be there (else `null`).
        only_if: Option<fn(&Report) -> bool>,
        /// Its numbers, in order.
        metrics: &'static [Metric],
    },
}

const fn mean(key: &'static str, of: fn(&RunResult) -> f64) -> Metric {
    Metric { key, derive: Derive::Mean { of, ci: None } }
}

const fn mean_ci(key: &'static str, of: fn(&RunResult) -> f64, ci: &'static str) -> Metric {
    Metric { key, derive: Derive::Mean { of, ci: Some(ci) } }
}

const fn total(key: &'static str, of: fn(&RunResult) -> u64) -> Metric {
    Metric { key, derive: Derive::Total(of) }
}

const fn max(key: &'static str, of: fn(&RunResult) -> f64) -> Metric {
    Metric { key, derive: Derive::Max(of) }
}

/// Every metric of a server's JSON object, in the order written (after `name` and
/// `architecture`; before `capacity_rps`, `bottleneck`, `analytic`, `warnings`, `stopped` and
/// `ci95`, which are not derived from replications this way).
pub const METRICS: &[Entry] = &[
    Entry::Group {
        key: "requests",
        only_if: None,
        metrics: &[
            total("arrived", |r| r.counts.arrived),
            total("completed", |r| r.counts.completed),
            total("rejected", |r| r.counts.rejected),
            total("timed_out", |r| r.counts.timed_out),
            total("failed", |r| r.counts.failed),
            total("lost", |r| r.counts.lost()),
            total("in_flight_at_end", |r| r.in_flight_at_end),
            total("wasted", |r| r.counts.wasted),
            total("lost_to_crashes", |r| r.counts.lost_to_crashes),
            total("retries", |r| r.counts.retries),
        ],
    },
    Entry::Metric(mean_ci("throughput_rps", |r| r.throughput_rps, "throughput_rps")),
    Entry::Metric(mean("goodput_rps", |r| r.throughput_rps)),
    Entry::Metric(mean("served_rps", |r| r.served_rps)),
    Entry::Metric(Metric { key: "wasted_cpu_s", derive: Derive::Sum(|r| r.wasted_cpu_s) }),
    Entry::Group {
        key: "latency_ms",
        only_if: None,
        metrics: &[
            mean_ci("mean", |r| r.latency.mean_ms(), "latency_mean_ms"),
            mean_ci("p50", |r| r.latency.quantile_ms(0.5), "latency_p50_ms"),
            mean("p90", |r| r.latency.quantile_ms(0.9)),
            mean("p95", |r| r.latency.quantile_ms(0.95)),
            mean_ci("p99", |r| r.latency.quantile_ms(0.99), "latency_p99_ms"),
            mean("p999", |r| r.latency.quantile_ms(0.999)),
            max("max", |r| r.latency.max_ms()),
        ],
    },
    Entry::Group {
        key: "wait_ms",
        only_if: None,
        metrics: &[mean_ci("mean", |r| r.wait.mean_ms(), "wait_mean_ms"), mean("p99", |r| r.wait.quantile_ms(0.99))],
    },
    Entry::Group {
        key: "utilization",
        only_if: None,
        metrics: &[
            mean_ci("cpu", |r| r.cpu_utilization, "utilization_cpu"),
            mean_ci("workers", |r| r.worker_utilization, "utilization_workers"),
        ],
    },
    Entry::Metric(mean_ci("mean_in_system", |r| r.mean_in_system, "mean_in_system")),
    Entry::Group {
        key: "connections",
        only_if: None,
        metrics: &[mean("mean", |r| r.mean_connections), mean("idle_mean", |r| r.mean_idle_connections)],
    },
    Entry::Group {
        key: "memory_mb",
        only_if: None,
        metrics: &[
            mean_ci("mean", |r| r.memory_mean_mb, "memory_mean_mb"),
            max("peak", |r| r.memory_peak_mb),
            mean("largest_process_mean", |r| r.largest_process_mean_mb),
            mean("processes_alive_mean", |r| r.mean_processes_alive),
            mean("rss_sum_mean", |r| r.rss_sum_mean_mb),
            max("rss_sum_peak", |r| r.rss_sum_peak_mb),
            mean("largest_process_rss_mean", |r| r.largest_process_rss_mean_mb),
        ],
    },
    Entry::Metric(total("crashes", |r| r.counts.crashes)),
    Entry::Metric(total("kills", |r| r.counts.kills)),
    Entry::Metric(total("recycles", |r| r.counts.recycles)),
    Entry::Metric(total("oom_kills", |r| r.counts.oom_kills)),
    Entry::Metric(total("spawns", |r| r.counts.spawns)),
    Entry::Metric(total("reaps", |r| r.counts.reaps)),
    Entry::Group {
        key: "backend",
        only_if: Some(|report| report.has_backend),
        metrics: &[
            mean("busy_mean", |r| r.mean_db_busy),
            mean("waiting_mean", |r| r.mean_db_waiting),
            mean("connections_mean", |r| r.mean_db_connections),
            total("refused", |r| r.counts.db_refused),
        ],
    },
    Entry::Metric(mean("swapped_fraction", |r| r.swapped_fraction)),
];

/// The keys of a server's JSON object that `METRICS` does not derive, in the order written
/// after its metrics.
pub const OTHER_KEYS: [&str; 6] = ["capacity_rps", "bottleneck", "analytic", "warnings", "stopped", "ci95"];

/// Every metric with a `ci95` key, in `METRICS` order: (its `ci95` key, the value of one run).
pub fn ci95_metrics() -> impl Iterator<Item = (&'static str, fn(&RunResult) -> f64)> {
    entries_metrics().filter_map(|m| match m.derive {
        Derive::Mean { of, ci: Some(k) } => Some((k, of)),
        _ => None,
    })
}

/// Every metric of `METRICS`, groups flattened, in order.
fn entries_metrics() -> impl Iterator<Item = &'static Metric> {
    METRICS.iter().flat_map(|e| match e {
        Entry::Metric(m) => std::slice::from_ref(m),
        Entry::Group { metrics, .. } => metrics,
    })
}

/// A metric's value for one server: a float, or a count.
enum Value {
    Float(f64),
    Count(u64),
}

impl Metric {
    fn value(&self, s: &ServerReport) -> Value {
        match self.derive {
            Derive::Mean { of, .. } => Value::Float(s.estimate(of).mean),
            Derive::Max(of) => Value::Float(s.runs.iter().map(of).fold(0.0, f64::max)),
            Derive::Sum(of) => Value::Float(s.runs.iter().map(of).sum()),
            Derive::Total(of) => Value::Count(s.runs.iter().map(of).sum()),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Float(x) => ser.serialize_f64(*x),
            Value::Count(n) => ser.serialize_u64(*n),
        }
    }
}

/// A group's object for one server.
struct GroupView<'a> {
    metrics: &'static [Metric],
    server: &'a ServerReport,
}

impl Serialize for GroupView<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut map = ser.serialize_map(Some(self.metrics.len()))?;
        for m in self.metrics {
            map.serialize_entry(m.key, &m.value(self.server))?;
        }
        map.end()
    }
}

/// The `--json` output (schema documented in docs/output-format.md).
#[derive(Serialize)]
pub struct JsonReport<'a> {
    scenario: &'a str,
    seed: u64,
    replications: u32,
    servers: Vec<JsonServer<'a>>,
}

impl<'a> JsonReport<'a> {
    /// The JSON view of `report`. Point estimates are means over replications; counts are sums;
    /// `ci95` holds Student-t 95% half-widths when there is more than one replication.
    pub fn from_report(report: &'a Report) -> Self {
        JsonReport {
            scenario: &report.scenario,
            seed: report.seed,
            replications: report.replications,
            servers: report.servers.iter().map(|server| JsonServer { report, server }).collect(),
        }
    }
}

/// One server's object.
struct JsonServer<'a> {
    report: &'a Report,
    server: &'a ServerReport,
}

impl Serialize for JsonServer<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let s = self.server;
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("name", &s.name)?;
        map.serialize_entry("architecture", s.architecture)?;
        for e in METRICS {
            match *e {
                Entry::Metric(m) => map.serialize_entry(m.key, &m.value(s))?,
                Entry::Group { key, only_if, metrics } => {
                    let view = only_if.is_none_or(|f| f(self.report)).then_some(GroupView { metrics, server: s });
                    map.serialize_entry(key, &view)?;
                }
            }
        }
        let finite = |c: &(String, f64)| c.1.is_finite();
        map.serialize_entry("capacity_rps", &s.capacity.as_ref().filter(|c| finite(c)).map(|c| c.1))?;
        map.serialize_entry("bottleneck", &s.capacity.as_ref().filter(|c| finite(c)).map(|c| &c.0))?;
        map.serialize_entry("analytic", &JsonAnalytic::of(s))?;
        map.serialize_entry("warnings", &s.warnings)?;
        let stopped = s.runs.iter().find_map(|r| r.stopped).map(|st| JsonStop {
            at_s: st.at_s,
            reason: match st.reason {
                StopReason::Stalled => "stalled",
                StopReason::Diverged => "diverged",
                StopReason::Interrupted => "interrupted",
            },
        });
        map.serialize_entry("stopped", &stopped)?;
        if self.report.replications > 1 {
            map.serialize_entry("ci95", &Ci95(s))?;
        }
        map.end()
    }
}

/// A server's `ci95` object: the half-width of every metric that names a `ci95` key.
struct Ci95<'a>(&'a ServerReport);

impl Serialize for Ci95<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut map = ser.serialize_map(None)?;
        for (key, of) in ci95_metrics() {
            map.serialize_entry(key, &self.0.estimate(of).half_width)?;
        }
        map.end()
    }
}

/// Why and when a run stopped early.
#[derive(Serialize)]
struct JsonStop {
    at_s: f64,
    reason: &'static str,
}

/// Queueing theory beside the simulation (`crate::analytic::pool`).
#[derive(Serialize)]
struct JsonAnalytic {
    applies: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exact: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p99_ms: Option<f64>,
    /// Theory's mean (and p99, where it has one) lie within the simulated 95% intervals; null
    /// with one replication (no interval).
    #[serde(skip_serializing_if = "Option::is_none")]
    agrees: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    outside: Vec<String>,
}

impl JsonAnalytic {
    fn of(s: &ServerReport) -> Self {
        match &s.analytic {
            Ok(t) => {
                let within = |est: Estimate, theory: f64| (est.mean - theory).abs() <= est.half_width;
                let agrees = (s.runs.len() > 1).then(|| {
                    within(s.estimate(|r| r.latency.mean_ms()), t.mean_ms)
                        && t.p99_ms.is_none_or(|p| within(s.estimate(|r| r.latency.quantile_ms(0.99)), p))
                });
                JsonAnalytic {
                    applies: true,
                    model: Some(t.model),
                    exact: Some(t.exact),
                    mean_ms: Some(t.mean_ms),
                    p99_ms: t.p99_ms,
                    agrees,
                    outside: Vec::new(),
                }
            }
            Err(why) => JsonAnalytic {
                applies: false,
                model: None,
                exact: None,
                mean_ms: None,
                p99_ms: None,
                agrees: None,
                outside: why.clone(),
            },
        }
    }
}
