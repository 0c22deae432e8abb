//! The analysis views next to the live view: the latency distribution of each server (a CDF on a
//! logarithmic time axis) and the throughput-versus-offered-load sweep.

use egui::{RichText, Ui};
use egui_plot::{HoverPosition, Line, LineStyle, Plot, PlotPoints};

use crate::runtime::Runtime;
use crate::sweep::Sweep;
use crate::theme::{line_width, server_color};

/// The latency CDF of each server over the run so far (after warm-up).
pub fn latency_view_ui(ui: &mut Ui, rt: &Runtime, presenter: bool) {
    ui.heading("Latency distribution");
    ui.label(
        RichText::new("Fraction of completed requests answered within a time (all requests since warm-up). Steep = predictable; a long flat tail = some requests wait much longer.")
            .weak(),
    );
    if rt.run.servers.iter().all(|s| s.recorder().latency().count() == 0) {
        // Nothing to draw yet: say why instead of showing empty axes and 0 ms everywhere.
        ui.label(format!(
            "No request has completed after the warm-up yet: the distribution starts at {:.0} s of simulated time (now {:.1} s).",
            rt.scenario.run.warmup_s,
            rt.run.now_s()
        ));
        return;
    }
    ui.horizontal_wrapped(|ui| {
        for (i, s) in rt.run.servers.iter().enumerate() {
            let h = s.recorder().latency();
            crate::theme::swatch_ui(ui, server_color(i));
            ui.label(format!(
                "{}: p50 {:.0} ms · p90 {:.0} ms · p99 {:.0} ms · p99.9 {:.0} ms",
                s.config().name,
                h.quantile_ms(0.5),
                h.quantile_ms(0.9),
                h.quantile_ms(0.99),
                h.quantile_ms(0.999)
            ));
            ui.add_space(10.0);
        }
    });
    let lw = line_width(presenter);
    Plot::new("latency-cdf")
        .height(ui.available_height().max(200.0))
        .x_axis_label("latency (ms, log scale)")
        .y_axis_label("fraction of requests")
        .x_axis_formatter(|mark, _| format_ms(10f64.powf(mark.value)))
        .label_formatter(|hover| match hover {
            HoverPosition::NearDataPoint { plot_name, position, .. } => {
                Some(format!("{plot_name}\n{:.1}% within {}", position.y * 100.0, format_ms(10f64.powf(position.x))))
            }
            HoverPosition::Elsewhere { .. } => None,
        })
        .include_y(0.0)
        .include_y(1.0)
        .show(ui, |p| {
            for (i, s) in rt.run.servers.iter().enumerate() {
                let h = s.recorder().latency();
                let total = h.count() as f64;
                if total == 0.0 {
                    continue;
                }
                let mut cum = 0.0;
                let pts: PlotPoints = h
                    .buckets_ms()
                    .map(|(ms, n)| {
                        cum += n as f64;
                        [ms.max(0.001).log10(), cum / total]
                    })
                    .collect();
                p.line(Line::new(s.config().name.clone(), pts).color(server_color(i)).width(lw));
            }
        });
}

fn format_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.3}", ms / 1000.0).trim_end_matches('0').trim_end_matches('.').to_string() + " s"
    } else if ms >= 1.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// The sweep view: start/cancel, progress, and the two hockey-stick plots.
pub fn sweep_view_ui(
    ui: &mut Ui,
    sweep: &mut Option<Sweep>,
    rt: &Runtime,
    presenter: bool,
    error: &mut Option<String>,
) {
    ui.heading("Throughput and latency versus offered load");
    ui.label(
        RichText::new(format!(
            "Each point is an independent run of {} s (after {} s warm-up) of the current scenario, with the live changes applied, at one arrival rate. Computed in the background.",
            crate::sweep::SWEEP_DURATION_S,
            crate::sweep::SWEEP_WARMUP_S
        ))
        .weak(),
    );
    ui.horizontal(|ui| {
        let running = sweep.as_ref().is_some_and(|s| !s.finished());
        if ui.add_enabled(!running, egui::Button::new("Run sweep")).clicked() {
            match Sweep::start(&rt.current_scenario(), 16) {
                Ok(s) => *sweep = Some(s),
                Err(e) => *error = Some(e),
            }
        }
        if let Some(s) = sweep.as_ref() {
            if running && ui.button("Cancel").clicked() {
                s.cancel();
            }
            let frac = s.done() as f32 / s.total().max(1) as f32;
            let text = if s.cancelled() && s.finished() {
                format!("cancelled after {} of {} runs", s.done(), s.total())
            } else {
                format!("{} of {} runs", s.done(), s.total())
            };
            ui.add(egui::ProgressBar::new(frac).text(text).desired_width(320.0));
        }
    });
    if sweep.as_ref().is_some_and(|s| !s.finished()) {
        ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
    }
    let Some(s) = sweep.as_ref() else {
        ui.label("Press “Run sweep” to find each server's knee: where throughput stops following the offered load and latency climbs.");
        return;
    };
    ui.horizontal_wrapped(|ui| {
        for (i, name) in s.names.iter().enumerate() {
            crate::theme::swatch_ui(ui, server_color(i));
            ui.label(RichText::new(name).color(server_color(i)).strong());
            ui.add_space(10.0);
        }
        ui.label(RichText::new("- - throughput = offered").color(egui::Color32::from_gray(140)));
    });
    let Ok(points) = s.points.lock() else { return };
    let lw = line_width(presenter);
    let width = (ui.available_width() - ui.spacing().item_spacing.x) / 2.0;
    let height = ui.available_height().max(200.0);
    let max_rate = s.rates.last().copied().unwrap_or(1.0);
    ui.horizontal(|ui| {
        for (id, title, y_label) in
            [("sweep-throughput", "Throughput", "completed / s"), ("sweep-latency", "Latency p99", "ms")]
        {
            ui.vertical(|ui| {
                ui.strong(title);
                Plot::new(id)
                    .width(width)
                    .height(height - 30.0)
                    .x_axis_label("offered load (req/s)")
                    .y_axis_label(y_label)
                    .include_y(0.0)
                    .show(ui, |p| {
                        if id == "sweep-throughput" {
                            p.line(
                                Line::new(
                                    "throughput = offered",
                                    PlotPoints::from(vec![[0.0, 0.0], [max_rate, max_rate]]),
                                )
                                .color(egui::Color32::from_gray(140))
                                .style(LineStyle::dashed_loose()),
                            );
                        }
                        for (i, name) in s.names.iter().enumerate() {
                            let pts: PlotPoints = points[i]
                                .iter()
                                .flatten()
                                .map(|pt| {
                                    [
                                        pt.offered_rps,
                                        if id == "sweep-throughput" { pt.throughput_rps } else { pt.p99_ms },
                                    ]
                                })
                                .collect();
                            p.line(Line::new(name.clone(), pts).color(server_color(i)).width(lw));
                        }
                    });
            });
        }
    });
}
