//! `prefork`: `processes` single-threaded processes sharing one listen queue (Apache prefork +
//! mod_python, gunicorn sync workers). Every process holds its own copy of the application.

use super::OwnField;
use super::pool::WorkerPool;
use super::{
    Architecture, Capabilities, DynamicDefaults, FieldValue, Resource, Server, SizeField, Sizes, Workload, cpu_resource,
};
use crate::config::{ArchitectureKind, ServerConfig};
use crate::engine::Core;

/// Many single-threaded processes.
pub struct Prefork;

impl Architecture for Prefork {
    const KIND: ArchitectureKind = ArchitectureKind::Prefork;
    const ID: &'static str = "prefork";
    const SUMMARY: &'static str = "single-threaded processes sharing one listen queue (Apache prefork)";
    const FIELDS: &'static [OwnField] = &[OwnField {
        name: "processes",
        default: None,
        allowed: "1 … 1,000,000",
        meaning: "single-threaded processes",
    }];
    const SIZES: Sizes =
        Sizes { processes: Some(SizeField { field: "processes", label: "processes", starter: 8 }), threads: None };
    // Apache 2.2 prefork's defaults: StartServers 5, MinSpareServers 5, MaxSpareServers 10.
    const CAPABILITIES: Capabilities = Capabilities {
        dynamic_pool: Some(DynamicDefaults { start_processes: 5, min_spare_workers: 5, max_spare_workers: 10 }),
        app_import: true,
        preload: true,
        recycling: true,
        lifo: true,
        accept: true,
        ..Capabilities::NONE
    };

    fn own_fields(c: &ServerConfig) -> Vec<(&'static str, FieldValue)> {
        vec![("processes", FieldValue::Whole(c.processes))]
    }

    fn build(c: &ServerConfig, core: &mut Core) -> Box<dyn Server> {
        Box::new(WorkerPool::of_server(core, c, c.initial_processes(), 1).with_dynamic(c.dynamic, c.processes, 1))
    }

    fn resources(c: &ServerConfig, w: &Workload, cores: u32) -> Vec<Resource> {
        let p = f64::from(c.processes);
        vec![
            Resource {
                name: format!("{} processes", c.processes),
                busy_per_rps: w.blocking_worker_hold_s(c),
                units: p,
            },
            cpu_resource(w.cpu_s(), cores, p),
        ]
    }
}
