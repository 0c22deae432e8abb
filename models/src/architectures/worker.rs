//! `worker`: `processes` × `threads` sharing one listen queue (Apache worker MPM, gunicorn
//! gthread, mod_wsgi embedded with processes=P threads=T). With a GIL, each process runs at most
//! one thread's Python code at a time, so CPU parallelism is bounded by the process count.

use super::OwnField;
use super::pool::WorkerPool;
use super::{
    Architecture, Capabilities, DynamicDefaults, FieldValue, Resource, Server, SizeField, Sizes, Workload, cpu_resource,
};
use crate::config::{ArchitectureKind, ServerConfig};
use crate::engine::Core;

/// Processes × threads.
pub struct Worker;

impl Architecture for Worker {
    const KIND: ArchitectureKind = ArchitectureKind::Worker;
    const ID: &'static str = "worker";
    const SUMMARY: &'static str = "processes x threads sharing one listen queue (Apache worker MPM, gunicorn gthread)";
    const FIELDS: &'static [OwnField] = &[
        OwnField { name: "processes", default: None, allowed: "1 … 1,000,000", meaning: "processes" },
        OwnField { name: "threads", default: None, allowed: "1 … 1,000,000", meaning: "threads per process" },
    ];
    const SIZES: Sizes = Sizes {
        processes: Some(SizeField { field: "processes", label: "processes", starter: 2 }),
        threads: Some(SizeField { field: "threads", label: "threads each", starter: 5 }),
    };
    // Apache 2.2 worker's defaults: StartServers 3, MinSpareThreads 75, MaxSpareThreads 250.
    const CAPABILITIES: Capabilities = Capabilities {
        dynamic_pool: Some(DynamicDefaults { start_processes: 3, min_spare_workers: 75, max_spare_workers: 250 }),
        app_import: true,
        preload: true,
        recycling: true,
        lifo: true,
        accept: true,
        ..Capabilities::NONE
    };

    fn own_fields(c: &ServerConfig) -> Vec<(&'static str, FieldValue)> {
        vec![("processes", FieldValue::Whole(c.processes)), ("threads", FieldValue::Whole(c.threads))]
    }

    fn build(c: &ServerConfig, core: &mut Core) -> Box<dyn Server> {
        Box::new(WorkerPool::of_server(core, c, c.initial_processes(), c.threads).with_dynamic(
            c.dynamic,
            c.processes,
            c.threads,
        ))
    }

    fn resources(c: &ServerConfig, w: &Workload, cores: u32) -> Vec<Resource> {
        let workers = f64::from(c.processes * c.threads);
        let usable = if c.gil { f64::from(c.processes) } else { workers };
        vec![
            Resource {
                name: format!("{}x{} worker threads", c.processes, c.threads),
                busy_per_rps: w.blocking_worker_hold_s(c),
                units: workers,
            },
            cpu_resource(w.cpu_s(), cores, usable),
        ]
    }
}
