//! `cgi`: a new process per request. Each spends `startup_ms` of CPU starting the interpreter and
//! importing the application before the request's own work, then exits; at most `max_processes`
//! run at once and further requests wait in the listen queue.

use super::pool::{PoolConfig, Spawn, WorkerPool};
use super::{
    Architecture, Capabilities, FieldValue, OwnField, Resource, Server, SizeField, Sizes, Workload, cpu_resource,
};
use crate::config::{ArchitectureKind, ServerConfig};
use crate::engine::Core;

/// A process per request.
pub struct Cgi;

impl Architecture for Cgi {
    const KIND: ArchitectureKind = ArchitectureKind::Cgi;
    const ID: &'static str = "cgi";
    const SUMMARY: &'static str = "a new process per request (CGI)";
    const FIELDS: &'static [OwnField] = &[
        OwnField {
            name: "max_processes",
            default: None,
            allowed: "1 … 1,000,000",
            meaning: "processes running at once",
        },
        OwnField {
            name: "startup_ms",
            default: Some("0"),
            allowed: "≥ 0",
            meaning: "CPU per request to start the interpreter and import the app",
        },
    ];
    const SIZES: Sizes = Sizes {
        processes: Some(SizeField { field: "max_processes", label: "max processes", starter: 8 }),
        threads: None,
    };
    // A process serves one request and exits: nothing to recycle, and its import is `startup_ms`.
    const CAPABILITIES: Capabilities = Capabilities { lifo: true, ..Capabilities::NONE };

    fn own_fields(c: &ServerConfig) -> Vec<(&'static str, FieldValue)> {
        vec![("max_processes", FieldValue::Whole(c.processes)), ("startup_ms", FieldValue::Milliseconds(c.startup_s))]
    }

    fn build(c: &ServerConfig, core: &mut Core) -> Box<dyn Server> {
        Box::new(
            WorkerPool::build(
                core,
                PoolConfig {
                    processes: c.processes,
                    threads: 1,
                    gil: false,
                    process_mb: c.process_mb,
                    backlog: c.listen_backlog,
                    spawn: Spawn::PerRequest { startup_s: c.startup_s },
                },
            )
            .with_socket_buffer(c.socket_buffer_kb)
            .with_discipline(c.queue_discipline)
            .with_queue_timeout(c.queue_timeout_s),
        )
    }

    fn resources(c: &ServerConfig, w: &Workload, cores: u32) -> Vec<Resource> {
        let p = f64::from(c.processes);
        let cpu = w.cpu_s() + c.startup_s;
        vec![
            Resource {
                name: format!("{} CGI processes", c.processes),
                busy_per_rps: cpu + w.io_s() + w.blocking_net_s(c.socket_buffer_kb) + w.header_hold_s(c),
                units: p,
            },
            cpu_resource(cpu, cores, p),
        ]
    }
}
