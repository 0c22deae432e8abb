//! Live controls change the running simulation exactly as the equivalent scenario would.

mod common;

use common::*;
use models::config::{ArchitectureKind, RateStep};
use models::engine::ThreadState;
use models::live::{Change, LiveRun};
use models::metrics::Level;
use models::runner::run;
use sim::Dist;

fn base() -> models::config::Scenario {
    let mut sc = scenario(
        60.0,
        Dist::exp(0.004).unwrap(),
        Dist::exp(0.03).unwrap(),
        2,
        vec![
            server(ArchitectureKind::Threaded, |s| {
                s.threads = 6;
                s.gil = true;
            }),
            server(ArchitectureKind::EventLoop, |_| {}),
        ],
    );
    sc.run.warmup_s = 0.0;
    sc.run.duration_s = 200.0;
    sc.run.replications = 1;
    sc
}

/// Dragging the rate slider at t = 100 s is the same as a schedule step at 100 s: both re-draw
/// the pending arrival at the new rate at that instant, so the series are identical.
#[test]
fn live_rate_change_equals_a_scheduled_step() {
    let sc = base();
    let mut live = LiveRun::new(sc.clone());
    assert!(live.advance(100.0, u64::MAX));
    live.change(None, Change::Rate(90.0));
    assert!(live.advance(200.0, u64::MAX));

    let mut batch = sc.clone();
    batch.load.schedule = vec![RateStep { at_s: 100.0, rate_rps: 90.0 }];
    let report = run(&batch, true);
    for (i, s) in live.servers.iter_mut().enumerate() {
        let live_rows = s.sim.model.finish(200.0).series;
        assert_eq!(live_rows, report.servers[i].series(), "server {i}");
    }
}

/// Servers advanced in small slices (as the GUI does under its frame budget) produce exactly the
/// same results as one long run, and a change made while one server lags reaches it at the same
/// simulated instant.
#[test]
fn budgeted_slices_do_not_change_results() {
    let sc = base();
    let mut sliced = LiveRun::new(sc.clone());
    let mut changed_at = None;
    let mut t = 0.0;
    while t < 150.0 {
        t += 0.37;
        loop {
            // A budget of 10 events per slice leaves some servers behind others.
            let done = sliced.advance(t, 10);
            if changed_at.is_none() && t > 50.0 && !done {
                changed_at = Some(sliced.frontier_s());
                sliced.change(None, Change::Rate(120.0));
            }
            if done {
                break;
            }
        }
    }
    let tc = changed_at.expect("the change was made while a server lagged");
    // The same change at the same instant in one unsliced run.
    let mut whole = LiveRun::new(sc);
    assert!(whole.advance(tc, u64::MAX));
    whole.change(None, Change::Rate(120.0));
    assert!(whole.advance(t, u64::MAX));
    for (i, (a, b)) in sliced.servers.iter_mut().zip(whole.servers.iter_mut()).enumerate() {
        assert_eq!(a.sim.model.finish(t).series, b.sim.model.finish(t).series, "server {i}");
    }
}

/// Adding threads to an overloaded pool drains its queue: 2 threads with 30 ms IO serve at most
/// 66.7 req/s, so at 100 req/s the queue grows by about 33/s; after resizing to 8 threads
/// (capacity 267/s) the queue must empty.
#[test]
fn resizing_a_pool_live_drains_the_queue() {
    let mut sc = scenario(
        100.0,
        Dist::Const(0.0),
        Dist::exp(0.03).unwrap(),
        2,
        vec![server(ArchitectureKind::Prefork, |s| s.processes = 2)],
    );
    sc.run.warmup_s = 0.0;
    let mut live = LiveRun::new(sc);
    live.advance(60.0, u64::MAX);
    let queued = live.servers[0].sim.model.core.recorder.level(Level::Waiting);
    // ≈ 33/s × 60 s = 2000 waiting, Poisson noise well under 500.
    assert!(queued > 1500.0, "queue before resize: {queued}");
    live.change(Some(0), Change::Resize { processes: 8, threads: 1 });
    live.advance(120.0, u64::MAX);
    let after = live.servers[0].sim.model.core.recorder.level(Level::Waiting);
    assert!(after < 50.0, "queue after resize: {after}");
    // Shrink back: surplus processes retire once idle; the view shows 8 boxes, 6 of them dead.
    live.change(Some(0), Change::Resize { processes: 2, threads: 1 });
    live.advance(121.0, u64::MAX);
    let v = live.servers[0].view();
    assert_eq!(v.processes.len(), 8);
    assert!(v.processes.iter().filter(|p| p.alive && !p.retiring).count() == 2, "{:?}", v.processes);
}

/// Turning the GIL off at time zero is the same as a server configured without it.
#[test]
fn gil_off_at_start_equals_no_gil() {
    let sc = base();
    let mut live = LiveRun::new(sc.clone());
    live.change(Some(0), Change::Gil(false));
    live.advance(200.0, u64::MAX);
    let mut plain = sc.clone();
    plain.servers[0].gil = false;
    let report = run(&plain, true);
    assert_eq!(live.servers[0].sim.model.finish(200.0).series, report.servers[0].series());
}

/// A random sequence of live changes on every architecture, with and without keep-alive, keeps
/// the books balanced and the engine's state consistent (busy-worker level = threads that are
/// busy, including those waiting on idle keep-alive connections).
#[test]
fn random_live_changes_keep_every_architecture_consistent() {
    use models::architectures::REGISTRY;
    let mut rng = sim::stream(99, 0, 0);
    for (info, keepalive) in REGISTRY.iter().flat_map(|i| [(i, false), (i, true)]) {
        let mut s = typical_server(info, 3);
        s.gil = true;
        s.listen_backlog = Some(50);
        if keepalive {
            s.keepalive_timeout_s = Some(0.5);
            s.keepalive_requests = Some(4);
            s.keepalive_kb = 16.0;
        }
        let mut sc = scenario(80.0, Dist::exp(0.005).unwrap(), Dist::exp(0.02).unwrap(), 2, vec![s]);
        if keepalive {
            sc.load.rate_rps = 20.0;
            sc.load.requests_per_connection = 5;
            sc.load.connection_gap_s = Dist::exp(0.2).unwrap();
            sc.load.client_keeps_open = true;
        }
        sc.requests.push(class("static", 0.2, Dist::constant(0.001).unwrap(), Dist::Const(0.0), true));
        sc.load.timeout_s = Some(2.0);
        sc.run.warmup_s = 0.0;
        let mut live = LiveRun::new(sc);
        for step in 1..=60 {
            let r = sim::dist::unit(&mut rng);
            let change = match (r * 8.0) as u32 {
                0 => Change::Rate(20.0 + 300.0 * sim::dist::unit(&mut rng)),
                1 => Change::Resize {
                    processes: 1 + (sim::dist::unit(&mut rng) * 5.0) as u32,
                    threads: 1 + (sim::dist::unit(&mut rng) * 4.0) as u32,
                },
                2 => Change::Gil(sim::dist::unit(&mut rng) < 0.5),
                3 => Change::Backlog(if sim::dist::unit(&mut rng) < 0.3 {
                    None
                } else {
                    Some((sim::dist::unit(&mut rng) * 40.0) as u32)
                }),
                4 => Change::ClassMeans {
                    class: 0,
                    cpu_s: Some(0.01 * sim::dist::unit(&mut rng)),
                    io_s: Some(0.05 * sim::dist::unit(&mut rng)),
                },
                5 => Change::CrashFraction { class: 0, fraction: 0.1 * sim::dist::unit(&mut rng) },
                6 => Change::SlowClients(sim::dist::unit(&mut rng)),
                _ => Change::Rate(0.0),
            };
            let change_desc = format!("{change:?}");
            live.change(Some(0), change);
            live.advance(f64::from(step) * 2.0, u64::MAX);
            let core = &live.servers[0].sim.model.core;
            let busy = core.threads.iter().filter(|t| t.is_worker && t.state != ThreadState::Idle).count() as f64;
            assert_eq!(
                core.recorder.level(Level::BusyWorkers),
                busy,
                "{} (keep-alive {keepalive}) at step {step}",
                info.id
            );
            assert!(
                core.recorder.level(Level::IdleConnections) >= 0.0
                    && core.recorder.level(Level::IdleConnections) <= core.recorder.level(Level::Connections) + 1e-9,
                "{} at step {step}: idle {} of {} connections",
                info.id,
                core.recorder.level(Level::IdleConnections),
                core.recorder.level(Level::Connections)
            );
            for (i, t) in core.threads.iter().enumerate() {
                assert!(
                    t.state == ThreadState::Idle || core.processes[t.process.index()].alive,
                    "{}: thread {i} ({:?}) of dead process {} at step {step} after {change_desc}; view {:?}",
                    info.id,
                    t.state,
                    t.process,
                    live.servers[0].view().processes
                );
            }
        }
        let result = live.servers[0].sim.model.finish(120.0);
        assert_conserved(info.id, &result);
    }
}

/// A live server whose queue passes the in-system cap stops (instead of growing until memory
/// runs out) while the others go on, and the shared clock follows the ones still running.
/// base(): the threaded server (6 threads, 4 ms CPU + 30 ms IO each) is limited by its threads
/// to about 6 / 0.034 s ≈ 176 req/s; at 2,000 req/s its unlimited queue grows by about 1,800 a
/// second and passes a cap of 3,000 within 2 s. The event loop gets a backlog of 100, so it
/// refuses the excess instead of queueing it.
#[test]
fn a_diverging_live_server_stops_and_the_others_go_on() {
    let mut sc = base();
    sc.servers[1].listen_backlog = Some(100); // the event loop refuses instead of queueing
    let mut live = LiveRun::new(sc);
    live.max_in_system = 3_000;
    live.change(None, Change::Rate(2_000.0));
    let mut t = 0.0;
    while t < 20.0 {
        t += 0.5;
        live.advance(t, u64::MAX);
    }
    let stopped = live.servers[0].diverged_at_s().expect("the unlimited queue diverged");
    assert!(stopped > 0.0 && stopped < 5.0, "{stopped}");
    assert!(live.servers[1].diverged_at_s().is_none(), "the bounded one keeps running");
    assert!((live.servers[1].sim.now_s() - 20.0).abs() < 1e-9);
    assert!((live.now_s() - 20.0).abs() < 1e-9, "the clock follows the running server");
    let frozen = live.servers[0].sim.now_s();
    live.advance(30.0, u64::MAX);
    assert_eq!(live.servers[0].sim.now_s(), frozen, "a stopped server stays stopped");
}

/// Resizing a pool while some of its processes are down after a crash must not start their
/// threads before the respawn (found by the window's extreme-slider test: a re-enabled thread of
/// a crashed daemon was queued as idle twice and given two requests). Every architecture, with
/// one request in ten crashing its process and a slow respawn, is grown and shrunk repeatedly;
/// the engine's debug assertions (a busy thread is never given work) and the books must hold.
#[test]
fn resizing_while_processes_are_down_keeps_every_pool_consistent() {
    use models::architectures::REGISTRY;
    for info in &REGISTRY {
        let mut s = typical_server(info, 2);
        s.respawn_s = 3.0;
        let mut sc = scenario(150.0, Dist::exp(0.002).unwrap(), Dist::exp(0.05).unwrap(), 2, vec![s]);
        sc.requests[0].crash_fraction = 0.1;
        sc.run.warmup_s = 0.0;
        let mut live = LiveRun::new(sc);
        let sizes = [(1, 1), (6, 4), (1, 8), (8, 1), (2, 2), (7, 7), (1, 1), (5, 3)];
        for (step, (processes, threads)) in sizes.iter().cycle().take(40).enumerate() {
            live.change(Some(0), Change::Resize { processes: *processes, threads: *threads });
            live.advance((step + 1) as f64 * 1.5, u64::MAX);
            let core = &live.servers[0].sim.model.core;
            for (i, t) in core.threads.iter().enumerate() {
                let p = &core.processes[t.process.index()];
                assert!(
                    t.state == ThreadState::Idle || (p.alive && !p.down),
                    "{}: thread {i} busy in a dead process",
                    info.id
                );
            }
        }
        assert!(live.servers[0].sim.model.core.recorder.counts().crashes > 10, "{}: crashes happened", info.id);
        let result = live.servers[0].sim.model.finish(60.0);
        assert_conserved(info.id, &result);
    }
}

#[test]
fn the_slow_client_control_moves_the_slowest_link_of_clients_that_read() {
    use models::engine::load::slow_link;
    // Broadband, modem and an attacker on a modem that never reads: the readers' modem.
    let links = [(20_000.0, true), (56.0, true), (56.0, false)];
    assert_eq!(slow_link(links.into_iter()), Some(1));
    // The attacker is the slowest but never reads: the slowest reader is the 100 kbit/s link.
    let links = [(56.0, false), (1000.0, true), (100.0, true)];
    assert_eq!(slow_link(links.into_iter()), Some(2));
    // Every reader on the same link: no slow link (the control adds a modem link).
    let links = [(8000.0, true), (8000.0, false)];
    assert_eq!(slow_link(links.into_iter()), None);
    assert_eq!(slow_link([(1e9, true)].into_iter()), None);
    // The link the control adds is found next time, so it never adds two: a modem for 8000 kbit/s
    // readers; half the speed of a 28 kbit/s reader; a modem when nobody reads.
    use models::engine::load::added_slow_link_kbps;
    for links in [vec![(8000.0, true), (8000.0, false)], vec![(28.0, true)], vec![(8000.0, false)]] {
        let added = added_slow_link_kbps(links.clone().into_iter());
        let mut with = links.clone();
        with.push((added, true));
        assert_eq!(slow_link(with.into_iter()), Some(links.len()), "{links:?} + {added}");
    }
    assert_eq!(added_slow_link_kbps([(28.0, true)].into_iter()), 14.0);
}

/// A change made while a server lags far behind (one added late, catching up) does not replay
/// it to the frontier in one go — that froze the window for seconds — and still reaches it at
/// the stamped instant: its result equals a server that had the change scheduled from the start.
#[test]
fn a_change_never_replays_a_lagging_server_in_one_go() {
    let sc = base();
    let mut live = LiveRun::new(sc.clone());
    assert!(live.advance(150.0, u64::MAX));
    let late = sc.servers[0].clone();
    live.add_server(late);
    let n = live.servers.len() - 1;
    live.change(None, Change::Rate(90.0));
    assert_eq!(live.servers[n].sim.now_s(), 0.0, "the late server was advanced by the change");
    // Budgeted slices bring it to the frontier, applying the change at 150 s on the way; it is
    // catching up, so the others do not wait for it.
    assert!(live.catch_up_fraction().is_some());
    while !live.advance(200.0, 2_000) || !live.catch_up(2_000) {}
    assert_eq!(live.catch_up_fraction(), None);
    let live_rows = live.servers[n].sim.model.finish(200.0).series;
    let mut batch = sc.clone();
    batch.load.schedule = vec![RateStep { at_s: 150.0, rate_rps: 90.0 }];
    let report = run(&batch, true);
    assert_eq!(live_rows, report.servers[0].series());
}
