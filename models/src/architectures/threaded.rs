//! `threaded`: one process with a pool of `threads` workers taking requests from the listen
//! queue (CherryPy's wsgiserver). A thread is held for the whole request, CPU and blocking IO;
//! with `gil = true` only one of them runs Python code at a time.

use super::pool::WorkerPool;
use super::{
    Architecture, Capabilities, FieldValue, OwnField, Resource, Server, SizeField, Sizes, Workload, cpu_resource,
};
use crate::config::{ArchitectureKind, ServerConfig};
use crate::engine::Core;

/// One process, many threads.
pub struct Threaded;

impl Architecture for Threaded {
    const KIND: ArchitectureKind = ArchitectureKind::Threaded;
    const ID: &'static str = "threaded";
    const SUMMARY: &'static str = "one process, a pool of threads (CherryPy wsgiserver)";
    const FIELDS: &'static [OwnField] = &[OwnField {
        name: "threads",
        default: None,
        allowed: "1 … 1,000,000",
        meaning: "worker threads in the one process",
    }];
    const SIZES: Sizes =
        Sizes { processes: None, threads: Some(SizeField { field: "threads", label: "threads", starter: 10 }) };
    const CAPABILITIES: Capabilities =
        Capabilities { app_import: true, recycling: true, lifo: true, ..Capabilities::NONE };

    fn own_fields(c: &ServerConfig) -> Vec<(&'static str, FieldValue)> {
        vec![("threads", FieldValue::Whole(c.threads))]
    }

    fn build(c: &ServerConfig, core: &mut Core) -> Box<dyn Server> {
        // The listening socket lives in the one process: when it crashes, connections are refused.
        Box::new(WorkerPool::of_server(core, c, 1, c.threads).without_master())
    }

    fn resources(c: &ServerConfig, w: &Workload, cores: u32) -> Vec<Resource> {
        let threads = f64::from(c.threads);
        let usable = if c.gil { 1.0 } else { threads };
        vec![
            Resource {
                name: format!("{} threads", c.threads),
                busy_per_rps: w.blocking_worker_hold_s(c),
                units: threads,
            },
            cpu_resource(w.cpu_s(), cores, usable),
        ]
    }
}
