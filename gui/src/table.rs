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

/// One key of the exported summary and how to read it from a row.
pub type JsonField = (&'static str, fn(&Summary) -> serde_json::Value);

/// One column of the summary table: its header, its text in a row, and the values the
/// exported summary (`export::summary_json`) writes for it — declared once for both.
pub struct SummaryColumn {
    /// Header in the window.
    pub header: &'static str,
    /// The cell's text.
    pub text: fn(&Summary) -> String,
    /// (JSON key, value) pairs the export writes for this column.
    pub json: &'static [JsonField],
    /// The cell shows the server's state instead (stopped, catching up) when it has one.
    pub shows_state: bool,
    /// What the column means, on hovering a cell.
    pub hover: Option<&'static str>,
}

/// Unique memory, and the `ps` sum beside it only where the two differ (shared pages).
fn memory_text(m: &Summary) -> String {
    if m.rss_sum_mb - m.memory_mb >= 0.5 {
        format!("{:.0} MB · ps {:.0}", m.memory_mb, m.rss_sum_mb)
    } else {
        format!("{:.0} MB", m.memory_mb)
    }
}

/// The table's columns after the server's name, in order.
pub const COLUMNS: [SummaryColumn; 10] = [
    SummaryColumn {
        header: "throughput",
        text: |m| format!("{:.1} /s", m.throughput_rps),
        json: &[("throughput_rps", |m| m.throughput_rps.into())],
        shows_state: false,
        hover: None,
    },
    SummaryColumn {
        header: "mean",
        text: |m| ms(m.mean_ms),
        json: &[("latency_mean_ms", |m| m.mean_ms.into())],
        shows_state: false,
        hover: None,
    },
    SummaryColumn {
        header: "p99",
        text: |m| ms(m.p99_ms),
        json: &[("latency_p99_ms", |m| m.p99_ms.into())],
        shows_state: false,
        hover: None,
    },
    SummaryColumn {
        header: "waiting",
        text: |m| format!("{:.0}", m.waiting),
        json: &[("waiting", |m| m.waiting.into())],
        shows_state: true,
        hover: None,
    },
    SummaryColumn {
        header: "rejected",
        text: |m| format!("{:.1} /s", m.rejected_rps),
        json: &[("rejected_rps", |m| m.rejected_rps.into())],
        shows_state: false,
        hover: None,
    },
    SummaryColumn {
        header: "timed out",
        text: |m| format!("{:.1} /s", m.timed_out_rps),
        json: &[("timed_out_rps", |m| m.timed_out_rps.into())],
        shows_state: false,
        hover: None,
    },
    SummaryColumn {
        header: "failed",
        text: |m| format!("{:.1} /s", m.failed_rps),
        json: &[("failed_rps", |m| m.failed_rps.into())],
        shows_state: false,
        hover: None,
    },
    SummaryColumn {
        header: "CPU",
        text: |m| format!("{:.0} %", 100.0 * m.cpu),
        json: &[("cpu_utilization", |m| m.cpu.into())],
        shows_state: false,
        hover: None,
    },
    SummaryColumn {
        header: "busy workers",
        text: |m| format!("{:.1} of {}", m.busy_workers, m.workers),
        json: &[("busy_workers", |m| m.busy_workers.into()), ("workers", |m| m.workers.into())],
        shows_state: false,
        hover: None,
    },
    SummaryColumn {
        header: "memory",
        text: memory_text,
        json: &[("memory_mb", |m| m.memory_mb.into()), ("rss_sum_mb", |m| m.rss_sum_mb.into())],
        shows_state: false,
        hover: Some(
            "Unique memory: shared pages counted once, what the machine spends; size RAM with this. \
             ps: RSS summed over the processes as ps and top show it, shared pages counted in every process.",
        ),
    },
];

/// Draw the table.
pub fn summary_table_ui(ui: &mut Ui, rt: &Runtime) {
    ui.label(RichText::new("Last 10 s of simulated time").weak());
    let grid = egui::Grid::new("summary-table").striped(true).num_columns(1 + COLUMNS.len()).spacing([18.0, 4.0]);
    grid.show(ui, |ui| {
        ui.strong("server");
        for c in &COLUMNS {
            ui.strong(c.header);
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
            for c in &COLUMNS {
                if c.shows_state {
                    state_cell_ui(ui, rt, s, (c.text)(&m));
                } else if pending {
                    ui.label("…");
                } else if let Some(h) = c.hover {
                    ui.label((c.text)(&m)).on_hover_text(h);
                } else {
                    ui.label((c.text)(&m));
                }
            }
            ui.end_row();
        }
    });
}

/// The cell of a column that shows the server's state: stopped, catching up, or `text`.
fn state_cell_ui(ui: &mut Ui, rt: &Runtime, s: &models::live::LiveServer, text: String) {
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
        None => ui.label(text),
    };
}
