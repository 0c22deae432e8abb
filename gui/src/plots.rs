//! The live time-series plots: one line per server, a shared time axis and hover read-outs; one
//! shared legend (in the app) hides servers in every plot. Plots only read the runtime.

use egui::{Id, Ui};
use std::collections::HashSet;

use egui_plot::{HLine, Line, LineStyle, Plot, PlotPoints};
use models::metrics::SeriesRow;

use crate::runtime::Runtime;
use crate::theme::{line_width, server_color};

/// How much simulated history the live plots show, seconds.
pub const VISIBLE_S: f64 = 120.0;

use models::metrics::PLOTS as METRICS;

/// Number of plot lines currently drawn (for tests): servers × metrics plus the extra lines.
pub fn line_count(rt: &Runtime) -> usize {
    let n = rt.run.servers.len();
    let idle = if keepalive_on(rt) { n } else { 0 };
    let served = if clients_give_up(rt) { n } else { 0 };
    // p50 lines, the offered-load line, idle-connection lines, served lines
    n * METRICS.len() + n + 1 + idle + served
}

/// Clients give up (time-outs), so what the server serves can exceed the goodput: the
/// throughput plot also shows it.
fn clients_give_up(rt: &Runtime) -> bool {
    rt.scenario.load.timeout_s.is_some()
}

/// Some server keeps idle connections open (keep-alive): the waiting plot also shows them.
fn keepalive_on(rt: &Runtime) -> bool {
    rt.scenario.servers.iter().any(|s| s.keepalive_timeout_s.is_some())
}

fn points(rows: &[SeriesRow], value: fn(&SeriesRow) -> f64) -> PlotPoints<'static> {
    rows.iter().map(|r| [r.start_s + r.width_s, value(r)]).collect()
}

fn recent(rows: &[SeriesRow], now_s: f64) -> &[SeriesRow] {
    let from = rows.partition_point(|r| r.start_s + r.width_s < now_s - VISIBLE_S);
    &rows[from..]
}

/// The grid of time-series plots, filling `height` points.
pub fn plots_ui(ui: &mut Ui, rt: &Runtime, hidden: &HashSet<String>, presenter: bool, height: f32) {
    let columns = 3;
    let rows = METRICS.len().div_ceil(columns);
    let gap = ui.spacing().item_spacing;
    let plot_h = ((height - gap.y * rows as f32) / rows as f32).max(80.0);
    let width = ui.available_width();
    let plot_w = (width - gap.x * (columns - 1) as f32) / columns as f32;
    let now = rt.now_s();
    let lw = line_width(presenter);
    let link = Id::unique("series-x");
    let keepalive = keepalive_on(rt);
    let give_up = clients_give_up(rt);
    for (row, chunk) in METRICS.chunks(columns).enumerate() {
        let last_row = row + 1 == rows;
        ui.horizontal(|ui| {
            for m in chunk {
                ui.vertical(|ui| {
                    ui.set_width(plot_w);
                    if m.id == "waiting" && keepalive {
                        ui.strong("Requests waiting (dashed: idle keep-alive connections)");
                    } else if m.id == "throughput" && give_up {
                        ui.strong("Goodput (dashed: served, in time or not)");
                    } else if m.id == "latency" {
                        ui.strong("Latency p99 (dashed: p50)");
                    } else {
                        ui.strong(m.title);
                    }
                    let plot = Plot::new(m.id)
                        .height(plot_h - ui.text_style_height(&egui::TextStyle::Body) - gap.y)
                        .width(plot_w)
                        .x_axis_label(if last_row { "simulated time (s)" } else { "" })
                        .y_axis_label(m.y_label)
                        .include_y(0.0)
                        .include_x((now - VISIBLE_S).max(0.0))
                        .include_x(now.max(10.0))
                        .link_axis(link, [true, false])
                        .link_cursor(link, [true, false])
                        .allow_scroll(false)
                        .allow_zoom(false)
                        .allow_drag(false)
                        .auto_bounds([true, true]);
                    plot.show(ui, |p| {
                        if m.id == "throughput"
                            && let Some(first) = rt.run.servers.first()
                        {
                            let rows = recent(first.recorder().series(), now);
                            p.line(
                                Line::new("offered load", points(rows, |r| r.arrived_rps))
                                    .color(egui::Color32::from_gray(140))
                                    .style(LineStyle::dashed_loose())
                                    .width(lw * 0.8),
                            );
                        }
                        if m.id == "memory"
                            && let Some(ram) = rt.scenario.machine.memory_mb
                        {
                            // Above this line the machine swaps (and past swap, the OOM killer acts).
                            p.hline(
                                HLine::new("machine memory", ram)
                                    .color(crate::theme::ALERT)
                                    .style(LineStyle::dashed_loose())
                                    .width(lw * 0.8),
                            );
                        }
                        for (i, s) in rt.run.servers.iter().enumerate() {
                            let rows = recent(s.recorder().series(), now);
                            let name = &s.config().name;
                            if hidden.contains(name) {
                                continue;
                            }
                            p.line(Line::new(name.clone(), points(rows, m.value)).color(server_color(i)).width(lw));
                            // The plot's dashed companion line, where it has one.
                            let dashed: Option<fn(&SeriesRow) -> f64> = match m.id {
                                "latency" => Some(|r| r.latency_p50_ms),
                                "throughput" if give_up => Some(|r| r.served_rps),
                                "waiting" if keepalive => Some(|r| r.idle_connections),
                                _ => None,
                            };
                            if let Some(value) = dashed {
                                p.line(
                                    Line::new(name.clone(), points(rows, value))
                                        .color(server_color(i))
                                        .style(LineStyle::dashed_dense())
                                        .width(lw * 0.7),
                                );
                            }
                        }
                    });
                });
            }
        });
    }
}

/// The visible points of metric `m` (index into the plots) for server `i`.
pub fn metric_points(rt: &Runtime, i: usize, m: usize) -> Vec<(f64, f64)> {
    let rows = recent(rt.run.servers[i].recorder().series(), rt.now_s());
    rows.iter().map(|r| (r.start_s + r.width_s, (METRICS[m].value)(r))).collect()
}
