//! Slow clients: transfers take time over the client's link. A blocking worker (threaded,
//! prefork, worker, CGI) is held while it reads the request and writes whatever does not fit in
//! the socket buffer; an event loop and a daemon front-end hold only a connection and its buffer.

mod common;

use common::*;
use models::config::{ArchitectureKind, ClientClass, Scenario, ServerConfig};
use sim::Dist;

/// Every client on a 56 kbit/s modem with a 150 ms round trip; requests are 10 ms of CPU and
/// return 20 KB.
fn modem_scenario(rate: f64, servers: Vec<ServerConfig>) -> Scenario {
    let mut sc = scenario(rate, Dist::exp(0.01).unwrap(), Dist::Const(0.0), 2, servers);
    sc.requests[0].response_kb = 20.0;
    sc.load.clients = vec![ClientClass {
        name: "modem".into(),
        weight: 1.0,
        bandwidth_kbps: 56.0,
        rtt_s: 0.15,
        header_s: 0.0,
        reads: true,
    }];
    sc
}

// By hand: upload = rtt/2 = 0.075 s (no request body); writing 20 KB at 56 kbit/s takes
// 20 × 8 / 56 = 2.857 s; download = 0.075 + 2.857 s.
const UPLOAD_S: f64 = 0.075;
const WRITE_S: f64 = 20.0 * 8.0 / 56.0;
const CPU_S: f64 = 0.01;

/// Prefork with no socket buffer: each worker is held for upload + CPU + the whole write, so by
/// Little's law the mean number of busy workers is λ × (0.075 + 0.010 + 2.857) = 5.88 at 2 req/s
/// (20 processes: practically never all busy, so nothing queues). The client sees the whole
/// transfer: latency = 0.075 + 0.010 + 0.075 + 2.857 = 3.017 s.
#[test]
fn a_slow_client_holds_a_prefork_worker_for_the_whole_transfer() {
    let sc = modem_scenario(2.0, vec![server(ArchitectureKind::Prefork, |s| s.processes = 20)]);
    let r = run_single(&sc);
    let busy = r.estimate(|x| x.worker_utilization * 20.0);
    assert_agrees("busy prefork workers", busy, 2.0 * (UPLOAD_S + CPU_S + WRITE_S), 4.0);
    let latency = r.estimate(|x| x.latency.mean_ms());
    assert_agrees("latency (ms)", latency, 1e3 * (2.0 * UPLOAD_S + CPU_S + WRITE_S), 4.0);
}

/// A socket buffer larger than the response frees the worker as soon as it has written it:
/// busy workers = λ × (upload + CPU) = 2 × 0.085 = 0.17, while the client still waits for the
/// whole transfer (latency unchanged: 3.017 s).
#[test]
fn a_socket_buffer_frees_the_worker_early() {
    let sc = modem_scenario(
        2.0,
        vec![server(ArchitectureKind::Prefork, |s| {
            s.processes = 20;
            s.socket_buffer_kb = 64.0;
        })],
    );
    let r = run_single(&sc);
    assert_agrees("busy workers", r.estimate(|x| x.worker_utilization * 20.0), 2.0 * (UPLOAD_S + CPU_S), 4.0);
    assert_agrees("latency (ms)", r.estimate(|x| x.latency.mean_ms()), 1e3 * (2.0 * UPLOAD_S + CPU_S + WRITE_S), 4.0);
}

/// An event loop is never held by a slow client: its busy time is the CPU alone (λ × 10 ms),
/// and its memory holds each response (20 KB) while it drains: L = λ × 2.932 s of downloads in
/// progress on average, so 2 × 2.932 × 20/1024 MB = 0.1145 MB on top of nothing else.
#[test]
fn an_event_loop_holds_only_buffers_for_slow_clients() {
    let sc = modem_scenario(2.0, vec![server(ArchitectureKind::EventLoop, |_| {})]);
    let r = run_single(&sc);
    assert_agrees("busy loop", r.estimate(|x| x.worker_utilization), 2.0 * CPU_S, 4.0);
    let buffers_mb = 2.0 * (UPLOAD_S + WRITE_S) * 20.0 / 1024.0;
    assert_agrees("buffer memory (MB)", r.estimate(|x| x.memory_mean_mb), buffers_mb, 4.0);
}

/// The shield: with 30% of clients on modems at 10 req/s, prefork's 10 processes are busy
/// 10 × (0.3 × 2.94 + 0.7 × 0.01) ≈ 8.9 of 10 on average (they queue), while 10 daemon threads
/// behind a buffering front-end are busy only for the CPU: 10 × 0.01 = 0.1.
#[test]
fn a_buffering_front_end_shields_daemons_from_slow_clients() {
    let mut sc = modem_scenario(
        10.0,
        vec![
            server(ArchitectureKind::Prefork, |s| s.processes = 10),
            server(ArchitectureKind::Daemon, |s| {
                s.processes = 2;
                s.threads = 5;
            }),
        ],
    );
    sc.load.clients.push(ClientClass {
        name: "lan".into(),
        weight: 7.0 / 3.0,
        bandwidth_kbps: 100_000.0,
        rtt_s: 0.0,
        header_s: 0.0,
        reads: true,
    });
    sc.run.replications = 3;
    let report = models::runner::run(&sc, false);
    let prefork = report.servers[0].estimate(|x| x.worker_utilization).mean;
    let daemon = report.servers[1].estimate(|x| x.worker_utilization).mean;
    assert!(prefork > 0.8, "prefork workers busy {prefork}");
    assert!(daemon < 0.02, "daemon threads busy {daemon}");
    // A daemon's wait is only the upload the front-end reads first: 0.3 × 75 ms = 22.5 ms on
    // average (the Poisson share of modem clients varies a little); prefork's requests queue
    // behind workers busy writing to modems, far longer.
    let wait = |i: usize| report.servers[i].estimate(|x| x.wait.mean_ms()).mean;
    assert!((wait(1) - 22.5).abs() < 3.0, "daemon wait {} ms", wait(1));
    assert!(wait(0) > 10.0 * wait(1), "prefork queues behind slow clients: {} vs {} ms", wait(0), wait(1));
}
