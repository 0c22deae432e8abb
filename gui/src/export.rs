//! Export for slides and analysis: the live plots as PNG or SVG (drawn with plotters, white
//! background, large type) and the results as CSV (time series) or JSON (summary table).

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::plots::metric_points;
use crate::runtime::Runtime;
use crate::table::summary;
use crate::theme::server_color;
use models::metrics::PLOTS;

/// One chart's worth of data, independent of the drawing backend.
#[derive(Debug, Clone)]
pub struct ChartData {
    /// Chart title.
    pub title: String,
    /// Y-axis label with its unit.
    pub y_label: String,
    /// One line per server.
    pub lines: Vec<ChartLine>,
}

/// One server's line in a chart.
#[derive(Debug, Clone)]
pub struct ChartLine {
    /// Server name (legend).
    pub name: String,
    /// Colour as (red, green, blue).
    pub rgb: (u8, u8, u8),
    /// Points as (simulated seconds, value).
    pub points: Vec<(f64, f64)>,
}

/// The six live charts, from the runtime.
pub fn charts(rt: &Runtime) -> Vec<ChartData> {
    PLOTS
        .iter()
        .enumerate()
        .map(|(m, plot)| ChartData {
            title: plot.title.to_string(),
            y_label: plot.y_label.to_string(),
            lines: rt
                .run
                .servers
                .iter()
                .enumerate()
                .map(|(i, s)| ChartLine {
                    name: s.config().name.clone(),
                    rgb: server_rgb(i),
                    points: metric_points(rt, i, m),
                })
                .collect(),
        })
        .collect()
}

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The fonts egui itself ships; plotters' default font lookup needs system libraries.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT);
    });
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    charts: &[ChartData],
    title: &str,
    x_label: &str,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let root = root.margin(12, 0, 0, 0).titled(title, ("sans-serif", 34)).map_err(err)?;
    let layout = if charts.len() <= 4 { (2, 2) } else { (2, 3) };
    let cells = root.split_evenly(layout);
    for (area, chart) in cells.iter().zip(charts) {
        let x_max = chart.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)).fold(1.0f64, f64::max);
        let x_min =
            chart.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)).fold(x_max, f64::min).min(x_max - 1.0);
        let data_max = chart.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).fold(0.0f64, f64::max);
        // An all-zero chart still gets a readable 0..1 axis.
        let y_max = if data_max > 1e-9 { data_max * 1.1 } else { 1.0 };
        let mut c = ChartBuilder::on(area)
            .caption(&chart.title, ("sans-serif", 26))
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(x_min..x_max, 0.0..y_max)
            .map_err(err)?;
        c.configure_mesh()
            .x_desc(x_label)
            .y_desc(&chart.y_label)
            .label_style(("sans-serif", 18))
            .axis_desc_style(("sans-serif", 20))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(err)?;
        for line in &chart.lines {
            let (r, g, b) = line.rgb;
            let color = RGBColor(r, g, b);
            // Thick polylines through hundreds of zig-zagging points grow miter spikes far outside
            // the chart: dense lines are drawn thin.
            let width = if line.points.len() > 300 { 1 } else { 3 };
            c.draw_series(
                LineSeries::new(line.points.iter().copied(), color.stroke_width(width))
                    .point_size(if line.points.len() <= 50 { 5 } else { 0 }),
            )
            .map_err(err)?
            .label(line.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(4)));
        }
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)
}

/// The x-axis label of the live charts.
const TIME_AXIS: &str = "simulated time (s)";

/// Write any set of charts (up to six, laid out in a grid) sharing the x-axis `x_label`: a PNG
/// or an SVG image, chosen by the file name's extension (`.png` or `.svg`).
pub fn export_charts(path: &Path, charts: &[ChartData], title: &str, x_label: &str) -> Result<(), String> {
    register_fonts();
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("png") => draw(BitMapBackend::new(path, IMAGE_SIZE).into_drawing_area(), charts, title, x_label),
        Some("svg") => draw(SVGBackend::new(path, IMAGE_SIZE).into_drawing_area(), charts, title, x_label),
        _ => Err(format!("{}: a chart file must end in .png or .svg", path.display())),
    }
}

/// The colour of server `i` as (red, green, blue), the same as in the window.
pub fn server_rgb(i: usize) -> (u8, u8, u8) {
    let c = server_color(i);
    (c.r(), c.g(), c.b())
}

/// Size of exported images in pixels (1080p: a slide).
pub const IMAGE_SIZE: (u32, u32) = (1920, 1080);

/// Write the charts as a PNG image.
pub fn export_png(path: &Path, rt: &Runtime) -> Result<(), String> {
    register_fonts();
    let root = BitMapBackend::new(path, IMAGE_SIZE).into_drawing_area();
    draw(root, &charts(rt), &rt.scenario.name, TIME_AXIS)
}

/// Write the charts as an SVG image.
pub fn export_svg(path: &Path, rt: &Runtime) -> Result<(), String> {
    register_fonts();
    let root = SVGBackend::new(path, IMAGE_SIZE).into_drawing_area();
    draw(root, &charts(rt), &rt.scenario.name, TIME_AXIS)
}

/// The time series of every server as CSV (the same writer as `serversim run --series`).
pub fn series_csv(rt: &Runtime) -> String {
    models::runner::series_csv_of(
        rt.run
            .servers
            .iter()
            .map(|s| (s.config().name.as_str(), s.config().architecture.id(), s.sim.model.core.recorder.series())),
    )
}

/// The summary table (last 10 s) of every server as JSON.
pub fn summary_json(rt: &Runtime) -> String {
    let servers: Vec<serde_json::Value> = rt
        .run
        .servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let m = summary(rt, i);
            serde_json::json!({
                "name": s.config().name,
                "architecture": s.config().architecture.id(),
                "throughput_rps": m.throughput_rps,
                "latency_mean_ms": m.mean_ms,
                "latency_p99_ms": m.p99_ms,
                "waiting": m.waiting,
                "rejected_rps": m.rejected_rps,
                "timed_out_rps": m.timed_out_rps,
                "failed_rps": m.failed_rps,
                "cpu_utilization": m.cpu,
                "busy_workers": m.busy_workers,
                "workers": m.workers,
                "memory_mb": m.memory_mb,
                "rss_sum_mb": m.rss_sum_mb,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "scenario": rt.scenario.name,
        "simulated_time_s": rt.now_s(),
        "window": "last 10 s of simulated time",
        "servers": servers,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
