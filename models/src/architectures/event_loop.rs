//! `event_loop`: `processes` single-threaded loops (Twisted). CPU runs to completion on the loop;
//! IO is non-blocking (the request parks and its callback rejoins the loop's ready queue) unless
//! `blocking_io = true`, when the wait stalls the loop — or, with `offload_threads`, is handed to
//! a thread pool (deferToThread).

use super::loops::{IoMode, LoopRole, Loops, LoopsConfig};
use super::{
    Architecture, Capabilities, FieldValue, OwnField, Resource, Server, SizeField, Sizes, Workload, cpu_resource,
};
use crate::config::{ArchitectureKind, ServerConfig};
use crate::engine::Core;

/// Single-threaded event loops.
pub struct EventLoop;

impl Architecture for EventLoop {
    const KIND: ArchitectureKind = ArchitectureKind::EventLoop;
    const ID: &'static str = "event_loop";
    const SUMMARY: &'static str = "single-threaded event loops; a blocking call stalls the loop (Twisted)";
    const FIELDS: &'static [OwnField] = &[
        OwnField {
            name: "processes",
            default: Some("1"),
            allowed: "1 … 1,000,000",
            meaning: "single-threaded loop processes",
        },
        OwnField {
            name: "blocking_io",
            default: Some("false"),
            allowed: "bool",
            meaning: "the IO wait stalls the loop",
        },
        OwnField {
            name: "offload_threads",
            default: Some("0"),
            allowed: "0 … 1,000,000, needs `blocking_io = true`",
            meaning: "threads per process for blocking calls (deferToThread)",
        },
    ];
    const SIZES: Sizes =
        Sizes { processes: Some(SizeField { field: "processes", label: "loops", starter: 1 }), threads: None };
    // One loop runs its ready queue in order: no LIFO. It holds no pool of workers to recycle or
    // to import the application into (its memory is `process_mb`).
    const CAPABILITIES: Capabilities = Capabilities { output_buffer: true, ..Capabilities::NONE };

    fn own_fields(c: &ServerConfig) -> Vec<(&'static str, FieldValue)> {
        let mut f =
            vec![("processes", FieldValue::Whole(c.processes)), ("blocking_io", FieldValue::Bool(c.blocking_io))];
        if c.offload_threads > 0 {
            f.push(("offload_threads", FieldValue::Whole(c.offload_threads)));
        }
        f
    }

    fn build(c: &ServerConfig, core: &mut Core) -> Box<dyn Server> {
        Box::new(
            Loops::build(
                core,
                LoopsConfig {
                    processes: c.processes,
                    gil: c.gil,
                    process_mb: c.process_mb,
                    io: io_mode(c),
                    offload_threads: c.offload_threads,
                    backlog: c.listen_backlog,
                    role: LoopRole::Workers,
                },
            )
            .with_queue_timeout(c.queue_timeout_s)
            .with_output_buffer(c.output_buffer_kb),
        )
    }

    fn resources(c: &ServerConfig, w: &Workload, cores: u32) -> Vec<Resource> {
        let p = f64::from(c.processes);
        let mut r = vec![cpu_resource(w.cpu_s(), cores, p)];
        match io_mode(c) {
            IoMode::NonBlocking => {}
            IoMode::Blocking => r.push(Resource {
                name: format!("{} loop(s) stalled by blocking IO", c.processes),
                busy_per_rps: w.cpu_s() + w.io_s(),
                units: p,
            }),
            IoMode::Offload => r.push(Resource {
                name: format!("{}x{} offload threads", c.processes, c.offload_threads),
                busy_per_rps: w.io_s(),
                units: p * f64::from(c.offload_threads),
            }),
        }
        r
    }
}

fn io_mode(c: &ServerConfig) -> IoMode {
    match (c.blocking_io, c.offload_threads) {
        (false, _) => IoMode::NonBlocking,
        (true, 0) => IoMode::Blocking,
        (true, _) => IoMode::Offload,
    }
}
