//! The server architectures. Each lives in its own file, implements `Architecture`, and is
//! registered once in `REGISTRY`; tests iterate the registry so every architecture is checked.
//!
//! The shared building blocks are `pool` (a listen queue feeding processes × threads) and
//! `loops` (single-threaded event loops with ready queues).

pub mod cgi;
pub mod daemon;
pub mod event_loop;
pub mod loops;
pub mod output;
pub mod pool;
pub mod prefork;
pub mod threaded;
pub mod worker;

use crate::config::{ArchitectureKind, RequestClass, ServerConfig};
use crate::engine::Core;
pub use crate::engine::Server;

/// The mean demands of the request mix, for capacity estimates.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    /// Fraction of requests that are static files.
    pub static_fraction: f64,
    /// Mean CPU seconds of a static request.
    pub static_cpu_s: f64,
    /// Mean IO seconds of a static request.
    pub static_io_s: f64,
    /// Mean CPU seconds of a dynamic request.
    pub dynamic_cpu_s: f64,
    /// Mean IO seconds of a dynamic request.
    pub dynamic_io_s: f64,
    /// (share, request KB, response KB) of each request class.
    sizes: Vec<(f64, f64, f64)>,
    /// (share, bandwidth kbit/s, round trip s) of each client link (empty = instant network).
    links: Vec<(f64, f64, f64)>,
    /// (share, seconds trickling headers) of each client link.
    headers: Vec<(f64, f64)>,
    /// Requests a client sends per connection.
    per_connection: u32,
    /// Mean pause between a response and the client's next request on the connection, s.
    gap_s: f64,
    /// Clients leave the connection open after their last request.
    keeps_open: bool,
}

impl Workload {
    /// Summarise a request mix.
    pub fn of(classes: &[RequestClass]) -> Self {
        let total: f64 = classes.iter().map(|c| c.weight).sum();
        let mut w = Workload::default();
        let (mut sw, mut dw) = (0.0, 0.0);
        for c in classes {
            let f = c.weight / total;
            if c.is_static {
                sw += f;
                w.static_cpu_s += f * c.cpu_s.mean();
                w.static_io_s += f * c.io_s.mean();
            } else {
                dw += f;
                w.dynamic_cpu_s += f * c.cpu_s.mean();
                w.dynamic_io_s += f * c.io_s.mean();
            }
        }
        if sw > 0.0 {
            w.static_cpu_s /= sw;
            w.static_io_s /= sw;
        }
        if dw > 0.0 {
            w.dynamic_cpu_s /= dw;
            w.dynamic_io_s /= dw;
        }
        w.static_fraction = sw;
        w.sizes = classes.iter().map(|c| (c.weight / total, c.request_kb, c.response_kb)).collect();
        w
    }

    /// The mix with the clients' links (for the time blocking workers spend on the network).
    pub fn with_clients(mut self, clients: &[crate::config::ClientClass]) -> Self {
        // A client that never reads is one pipelined connection, not a share of the workers'
        // time: the estimate is over the clients that read.
        let readers = || clients.iter().filter(|c| c.reads);
        let total: f64 = readers().map(|c| c.weight).sum();
        self.links = readers().map(|c| (c.weight / total, c.bandwidth_kbps, c.rtt_s)).collect();
        self.headers = readers().map(|c| (c.weight / total, c.header_s)).collect();
        self
    }

    /// The clients' connection habits (for the time idle keep-alive connections hold workers).
    pub fn with_connections(mut self, load: &crate::config::LoadConfig) -> Self {
        self.per_connection = load.requests_per_connection;
        self.keeps_open = load.client_keeps_open;
        self.gap_s = match &load.arrival {
            crate::config::Arrival::Closed { think_s, .. } => think_s.mean(),
            _ => load.connection_gap_s.mean(),
        };
        self
    }

    /// Mean seconds per request that a worker of `c` waits on an idle keep-alive connection (0
    /// with keep-alive off). A connection carries n = min(requests_per_connection,
    /// keepalive_requests) requests; the worker waits through the n − 1 pauses between them (each
    /// cut at the timeout T) and, if the client leaves it open after the last, for T more. Uses
    /// min(mean pause, T), an upper bound of the mean of min(pause, T).
    pub fn keepalive_hold_s(&self, c: &ServerConfig) -> f64 {
        let Some(t) = c.keepalive_timeout_s else { return 0.0 };
        let n = self.per_connection.max(1).min(c.keepalive_requests.unwrap_or(u32::MAX));
        let tail = if n == self.per_connection && self.keeps_open { t } else { 0.0 };
        (f64::from(n - 1) * self.gap_s.min(t) + tail) / f64::from(n)
    }

    /// Mean seconds per request a worker that reads requests itself spends on headers trickled
    /// by Slowloris clients, each cut at the server's `header_timeout_s`.
    pub fn header_hold_s(&self, c: &ServerConfig) -> f64 {
        let cut = c.header_timeout_s.unwrap_or(f64::INFINITY);
        self.headers.iter().map(|&(share, h)| share * h.min(cut)).sum()
    }

    /// Mean seconds a worker that talks to clients itself is held by the network per request:
    /// reading the request (rtt/2 + upload) and writing what exceeds a `socket_buffer_kb` buffer.
    pub fn blocking_net_s(&self, socket_buffer_kb: f64) -> f64 {
        let mut t = 0.0;
        for &(share, req_kb, _) in &self.sizes {
            for &(link, bw, rtt) in &self.links {
                t += share * link * (rtt / 2.0 + req_kb * 8.0 / bw);
            }
        }
        t + self.beyond_buffer_s(socket_buffer_kb)
    }

    /// Mean seconds a writer is held writing what exceeds a `buffer_kb` buffer per request (see
    /// `output::beyond_buffer_s`).
    pub fn beyond_buffer_s(&self, buffer_kb: f64) -> f64 {
        let mut t = 0.0;
        for &(share, _, resp_kb) in &self.sizes {
            for &(link, bw, _) in &self.links {
                t += share * link * output::beyond_buffer_s(resp_kb, buffer_kb, bw);
            }
        }
        t
    }

    /// Mean seconds a worker of `c` that serves its client itself is held per request: the
    /// request's CPU and IO, the network (`blocking_net_s`), trickled headers and idle keep-alive
    /// waits. The capacity of a pool of such workers (threaded, prefork, worker) is its size
    /// over this.
    pub fn blocking_worker_hold_s(&self, c: &ServerConfig) -> f64 {
        self.cpu_s()
            + self.io_s()
            + self.blocking_net_s(c.socket_buffer_kb)
            + self.header_hold_s(c)
            + self.keepalive_hold_s(c)
    }

    /// Mean CPU seconds over all requests.
    pub fn cpu_s(&self) -> f64 {
        self.static_fraction * self.static_cpu_s + (1.0 - self.static_fraction) * self.dynamic_cpu_s
    }

    /// Mean IO seconds over all requests.
    pub fn io_s(&self) -> f64 {
        self.static_fraction * self.static_io_s + (1.0 - self.static_fraction) * self.dynamic_io_s
    }
}

/// A resource that limits throughput: `busy_per_rps` units are busy per request per second, out
/// of `units` available (utilisation = rate × busy_per_rps / units).
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// What it is, for messages ("10 threads", "2 cores", "GIL of 1 process").
    pub name: String,
    /// Busy units per request/s (seconds of holding per request).
    pub busy_per_rps: f64,
    /// Units available.
    pub units: f64,
}

impl Resource {
    /// The request rate at which this resource is saturated (infinite if it is never used).
    pub fn capacity_rps(&self) -> f64 {
        if self.busy_per_rps > 0.0 { self.units / self.busy_per_rps } else { f64::INFINITY }
    }
}

/// The CPU of the machine as a resource: `cpu_s` seconds per request on `cores` cores, of which
/// at most `usable` can be used at once (GIL, single-threaded processes).
pub fn cpu_resource(cpu_s: f64, cores: u32, usable: f64) -> Resource {
    let units = f64::from(cores).min(usable);
    Resource { name: format!("{units} usable core(s)"), busy_per_rps: cpu_s, units }
}

/// The lowest saturation rate among `resources`, and the resource that sets it.
pub fn bottleneck(resources: &[Resource]) -> Option<(&Resource, f64)> {
    resources.iter().map(|r| (r, r.capacity_rps())).min_by(|a, b| a.1.total_cmp(&b.1))
}

/// One of an architecture's own scenario fields: its name, whether a scenario must set it, and
/// its line in the reference (`docs/scenario-format.md`, "Architecture-specific fields").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnField {
    /// Its name in scenario files.
    pub name: &'static str,
    /// Its default as the reference shows it (`None`: a scenario must set it).
    pub default: Option<&'static str>,
    /// The values allowed, as the reference shows them.
    pub allowed: &'static str,
    /// What it means.
    pub meaning: &'static str,
}

/// One pool-size field of an architecture: its name in scenario files, its label beside the
/// window's slider, and its value in the window's "Add server" starter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeField {
    /// Its name in scenario files ("processes", "daemons", "max_processes", "threads").
    pub field: &'static str,
    /// Its label in the window ("loops", "threads each").
    pub label: &'static str,
    /// Its value in a server added from the window's menu.
    pub starter: u32,
}

/// What `ServerConfig::processes` and `ServerConfig::threads` mean for one architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// The field that sets `processes` (`None`: always one process).
    pub processes: Option<SizeField>,
    /// The field that sets `threads` (`None`: one thread per process).
    pub threads: Option<SizeField>,
}

/// The values a dynamic (Apache-style) pool takes for the fields a scenario leaves unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamicDefaults {
    /// Processes forked at start (`StartServers`).
    pub start_processes: u32,
    /// Fewer idle workers than this forks a process (`MinSpareServers` / `MinSpareThreads`).
    pub min_spare_workers: u32,
    /// More idle workers than this stops one (`MaxSpareServers` / `MaxSpareThreads`).
    pub max_spare_workers: u32,
}

/// The common server features an architecture supports; validation accepts the fields of a
/// feature only for the architectures that declare it, and names them in its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// It can grow and shrink its processes Apache-style (`start_processes`,
    /// `min_spare_workers`, `max_spare_workers`), with these defaults.
    pub dynamic_pool: Option<DynamicDefaults>,
    /// An event loop writes its responses through a user-space buffer (`output_buffer_kb`).
    pub output_buffer: bool,
    /// Long-lived workers import the application once (`app_mb`, `import_ms`).
    pub app_import: bool,
    /// It forks worker processes, which can share a preloaded application (`preload`).
    pub preload: bool,
    /// Its workers can be recycled after a number of requests (`max_requests`).
    pub recycling: bool,
    /// Its waiting requests can be served newest first (`queue_discipline = "lifo"`).
    pub lifo: bool,
    /// Several processes accept connections, so a policy chooses which one takes each
    /// (`accept`).
    pub accept: bool,
}

impl Capabilities {
    /// Supports none of the features; architectures list what they add to it.
    pub const NONE: Capabilities = Capabilities {
        dynamic_pool: None,
        output_buffer: false,
        app_import: false,
        preload: false,
        recycling: false,
        lifo: false,
        accept: false,
    };
}

/// The value of one of an architecture's own fields, for writing a scenario back to a file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue {
    /// A whole number.
    Whole(u32),
    /// A boolean.
    Bool(bool),
    /// A plain number in the field's unit (`frontend_mb`).
    Number(f64),
    /// Seconds, written in a `_ms` field.
    Milliseconds(f64),
}

/// One architecture: its name in scenario files, its own fields, how to build it, and where its
/// capacity limits are.
pub trait Architecture {
    /// Which one it is.
    const KIND: ArchitectureKind;
    /// Its `architecture = "…"` name in scenario files.
    const ID: &'static str;
    /// One line for help texts.
    const SUMMARY: &'static str;
    /// Server fields that only this architecture uses (beyond the common ones), as the
    /// scenario-format reference documents them (`models/tests/docs.rs` checks it does).
    const FIELDS: &'static [OwnField];
    /// What its `processes` and `threads` are called.
    const SIZES: Sizes;
    /// The common features it supports.
    const CAPABILITIES: Capabilities;

    /// Its own fields (of `FIELDS`) as a scenario file writes them, in order.
    fn own_fields(config: &ServerConfig) -> Vec<(&'static str, FieldValue)>;

    /// Create its processes and threads in `core` and return its dispatch logic.
    fn build(config: &ServerConfig, core: &mut Core) -> Box<dyn Server>;

    /// The resources that bound its throughput for `workload` on `cores` cores.
    fn resources(config: &ServerConfig, workload: &Workload, cores: u32) -> Vec<Resource>;
}

/// An architecture's entry in the registry.
#[derive(Clone, Copy)]
pub struct ArchitectureInfo {
    /// Which one it is.
    pub kind: ArchitectureKind,
    /// Its name in scenario files.
    pub id: &'static str,
    /// One line for help texts.
    pub summary: &'static str,
    /// Fields only it uses.
    pub fields: &'static [OwnField],
    /// What its `processes` and `threads` are called.
    pub sizes: Sizes,
    /// The common features it supports.
    pub capabilities: Capabilities,
    /// Its own fields as a scenario file writes them.
    pub own_fields: fn(&ServerConfig) -> Vec<(&'static str, FieldValue)>,
    /// Builds the running server.
    pub build: crate::engine::BuildServer,
    /// Its capacity-limiting resources.
    pub resources: fn(&ServerConfig, &Workload, u32) -> Vec<Resource>,
}

const fn entry<A: Architecture>() -> ArchitectureInfo {
    ArchitectureInfo {
        kind: A::KIND,
        id: A::ID,
        summary: A::SUMMARY,
        fields: A::FIELDS,
        sizes: A::SIZES,
        capabilities: A::CAPABILITIES,
        own_fields: A::own_fields,
        build: A::build,
        resources: A::resources,
    }
}

/// Every architecture, in the order they are presented.
pub static REGISTRY: [ArchitectureInfo; 6] = [
    entry::<threaded::Threaded>(),
    entry::<event_loop::EventLoop>(),
    entry::<prefork::Prefork>(),
    entry::<worker::Worker>(),
    entry::<daemon::Daemon>(),
    entry::<cgi::Cgi>(),
];

impl ArchitectureInfo {
    /// The names of its own fields.
    pub fn field_names(&self) -> Vec<&'static str> {
        self.fields.iter().map(|f| f.name).collect()
    }

    /// Whether `name` is one of its own fields.
    pub fn has_field(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.name == name)
    }

    /// The names of its own fields a scenario must set.
    pub fn required(&self) -> impl Iterator<Item = &'static str> {
        self.fields.iter().filter(|f| f.default.is_none()).map(|f| f.name)
    }

    /// A server of this architecture as the window's "Add server" menu adds it: the starter
    /// sizes, and a GIL (the application is Python).
    pub fn starter(&self) -> ServerConfig {
        let mut s = ServerConfig::new(self.id, self.kind);
        s.gil = true;
        if let Some(p) = self.sizes.processes {
            s.processes = p.starter;
        }
        if let Some(t) = self.sizes.threads {
            s.threads = t.starter;
        }
        s
    }

    /// The `processes` of `config` counted as processes with their own memory and database pool
    /// (one for an architecture without a process count).
    pub fn process_count(&self, config: &ServerConfig) -> u32 {
        if self.sizes.processes.is_some() { config.processes } else { 1 }
    }
}

/// The ids of the architectures for which `supports` holds, for messages ("prefork, worker").
pub fn ids_where(supports: impl Fn(&ArchitectureInfo) -> bool) -> String {
    REGISTRY.iter().filter(|a| supports(a)).map(|a| a.id).collect::<Vec<_>>().join(", ")
}

/// The simulation of server `server_index` of `scenario` for replication `replication`, built
/// by its architecture (`series` turns on the windowed time series).
pub fn simulation(
    scenario: &crate::config::Scenario,
    server_index: usize,
    replication: u32,
    series: bool,
) -> sim::Simulation<crate::engine::ServerSim> {
    let build = info(scenario.servers[server_index].architecture).build;
    crate::engine::ServerSim::new(scenario, server_index, replication, series, build)
}

/// Where `kind` sits in `REGISTRY`. The match is exhaustive, so a new `ArchitectureKind`
/// does not compile until it has a place here (and `registry_places_match_kinds` checks the
/// place holds it).
const fn registry_index(kind: ArchitectureKind) -> usize {
    match kind {
        ArchitectureKind::Threaded => 0,
        ArchitectureKind::EventLoop => 1,
        ArchitectureKind::Prefork => 2,
        ArchitectureKind::Worker => 3,
        ArchitectureKind::Daemon => 4,
        ArchitectureKind::Cgi => 5,
    }
}

/// The registry entry of `kind`.
pub fn info(kind: ArchitectureKind) -> &'static ArchitectureInfo {
    let a = &REGISTRY[registry_index(kind)];
    assert!(a.kind == kind, "{kind:?} has no REGISTRY entry at its registry_index");
    a
}

/// The registry entry named `id` in scenario files.
pub fn by_id(id: &str) -> Option<&'static ArchitectureInfo> {
    REGISTRY.iter().find(|a| a.id == id)
}

impl ArchitectureKind {
    /// Its name in scenario files.
    pub fn id(self) -> &'static str {
        info(self).id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientClass;
    use sim::Dist;

    #[test]
    fn registry_places_match_kinds() {
        for (i, a) in REGISTRY.iter().enumerate() {
            assert_eq!(registry_index(a.kind), i, "{} is registered at {i}", a.id);
            assert_eq!(info(a.kind).id, a.id);
        }
    }

    /// By hand: 20 KB at 56 kbit/s is 2.857 s; with a 150 ms round trip the worker also waits
    /// 75 ms to read the request. A 64 KB socket buffer takes the whole response.
    #[test]
    fn blocking_network_time_by_hand() {
        let class = RequestClass { response_kb: 20.0, ..RequestClass::new("page", Dist::Const(0.0), Dist::Const(0.0)) };
        let modem = ClientClass {
            name: "modem".into(),
            weight: 1.0,
            bandwidth_kbps: 56.0,
            rtt_s: 0.15,
            header_s: 0.0,
            reads: true,
        };
        let w = Workload::of(std::slice::from_ref(&class)).with_clients(&[modem]);
        assert!((w.blocking_net_s(0.0) - (0.075 + 20.0 * 8.0 / 56.0)).abs() < 1e-12);
        assert!((w.blocking_net_s(64.0) - 0.075).abs() < 1e-12);
        assert_eq!(Workload::of(&[class]).blocking_net_s(0.0), 0.0, "no client mix, no network time");
    }
}
