//! The summary table under the plots: per server, the last 10 s of simulated time (so it answers
//! to the sliders within seconds): throughput, mean and p99 latency, losses, CPU, workers, memory.

use egui::{RichText, Ui};
use models::metrics::{Level, RECENT_WINDOWS};

use crate::runtime::Runtime;
use crate::theme::server_color;

/// One row of the table.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// Completed requests per second.
    pub throughput_rps: f64,
    /// Mean latency of completed requests, ms.
    pub mean_ms: f64,
    /// 99th-percentile latency, ms.
    pub p99_ms: f64,
    /// Refused per second.
    pub rejected_rps: f64,
    /// Client time-outs per second.
    pub timed_out_rps: f64,
    /// Server failures per second.
    pub failed_rps: f64,
    /// Fraction of all cores busy.
    pub cpu: f64,
    /// Busy workers (mean) and the pool size.
    pub busy_workers: f64,
    /// Worker threads in the pool now.
    pub workers: u32,
    /// Requests waiting now.
    pub waiting: f64,
    /// Resident memory, MB (mean over the last window): unique, shared pages counted once.
    pub memory_mb: f64,
    /// Resident memory as `ps` sums it over the processes, MB (mean over the last window).
    pub rss_sum_mb: f64,
}

/// The last `RECENT_WINDOWS` windows of server `i`.
pub fn summary(rt: &Runtime, i: usize) -> Summary {
    let core = rt.run.servers[i].core();
    let rows = core.recorder.series();
    let recent = &rows[rows.len().saturating_sub(RECENT_WINDOWS)..];
    let n = recent.len().max(1) as f64;
    let avg = |f: fn(&models::metrics::SeriesRow) -> f64| recent.iter().map(f).sum::<f64>() / n;
    let completed: f64 = recent.iter().map(|r| r.completed_rps * r.width_s).sum();
    Summary {
        throughput_rps: avg(|r| r.completed_rps),
        mean_ms: if completed > 0.0 {
            recent.iter().map(|r| r.latency_mean_ms * r.completed_rps * r.width_s).sum::<f64>() / completed
        } else {
            0.0
        },
        p99_ms: core.recorder.recent_latency_quantile_ms(0.99).unwrap_or(0.0),
        rejected_rps: avg(|r| r.rejected_rps),
        timed_out_rps: avg(|r| r.timed_out_rps),
        failed_rps: avg(|r| r.failed_rps),
        cpu: avg(|r| r.cpu_utilization),
        busy_workers: avg(|r| r.busy_workers),
        workers: core.worker_threads(),
        waiting: core.recorder.level(Level::Waiting),
        memory_mb: recent.last().map_or(0.0, |r| r.memory_mb),
        rss_sum_mb: recent.last().map_or(0.0, |r| r.rss_sum_mb),
    }
}

/// Format a latency for the table (seconds when large).
fn ms(v: f64) -> String {
    if v >= 10_000.0 { format!("{:.1} s", v / 1e3) } else { format!("{v:.0} ms") }
}

/// Draw the table.
pub fn summary_table_ui(ui: &mut Ui, rt: &Runtime) {
    ui.label(RichText::new("Last 10 s of simulated time").weak());
    egui::Grid::new("summary-table").striped(true).num_columns(11).spacing([18.0, 4.0]).show(ui, |ui| {
        for h in [
            "server",
            "throughput",
            "mean",
            "p99",
            "waiting",
            "rejected",
            "timed out",
            "failed",
            "CPU",
            "busy workers",
            "memory",
        ] {
            ui.strong(h);
        }
        ui.end_row();
        for (i, s) in rt.run.servers.iter().enumerate() {
            let m = summary(rt, i);
            ui.horizontal(|ui| {
                crate::theme::swatch_ui(ui, server_color(i));
                ui.label(RichText::new(&s.config().name).color(server_color(i)).strong());
            });
            // A server catching up has no figures for the last 10 s of the others' clock yet.
            let pending = s.is_catching_up();
            let fig = |text: String| if pending { "…".to_string() } else { text };
            ui.label(fig(format!("{:.1} /s", m.throughput_rps)));
            ui.label(fig(ms(m.mean_ms)));
            ui.label(fig(ms(m.p99_ms)));
            match s.diverged_at_s() {
                Some(t) => ui.label(
                    RichText::new(format!(
                        "stopped at {t:.0} s: over {:.0e} queued (reset)",
                        models::limits::MAX_IN_SYSTEM as f64
                    ))
                    .color(ui.visuals().error_fg_color),
                ),
                None if s.is_catching_up() => ui
                    .label(
                        RichText::new(format!("catching up: {:.0} of {:.0} s", s.sim.now_s(), rt.now_s()))
                            .color(ui.visuals().warn_fg_color),
                    )
                    .on_hover_text(
                        "Added while the others ran: it replays the same traffic from time zero in \
                         part of each frame, and its figures fill in when it reaches the others' clock.",
                    ),
                None => ui.label(format!("{:.0}", m.waiting)),
            };
            ui.label(fig(format!("{:.1} /s", m.rejected_rps)));
            ui.label(fig(format!("{:.1} /s", m.timed_out_rps)));
            ui.label(fig(format!("{:.1} /s", m.failed_rps)));
            ui.label(fig(format!("{:.0} %", 100.0 * m.cpu)));
            ui.label(fig(format!("{:.1} of {}", m.busy_workers, m.workers)));
            // Unique memory, and the `ps` sum beside it only where the two differ (shared pages).
            let memory = if m.rss_sum_mb - m.memory_mb >= 0.5 {
                format!("{:.0} MB · ps {:.0}", m.memory_mb, m.rss_sum_mb)
            } else {
                format!("{:.0} MB", m.memory_mb)
            };
            ui.label(fig(memory)).on_hover_text(
                "Unique memory: shared pages counted once, what the machine spends; size RAM with this. \
                 ps: RSS summed over the processes as ps and top show it, shared pages counted in every process.",
            );
            ui.end_row();
        }
    });
}
