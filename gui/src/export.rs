//! Export for slides and analysis: the live plots as PNG or SVG (drawn by the `charts` crate)
//! and the results as CSV (time series) or JSON (summary table).

use std::path::Path;

pub use charts::IMAGE_SIZE;
use charts::{ChartData, ChartLine, export_charts, server_rgb};

use crate::plots::metric_points;
use crate::runtime::Runtime;
use crate::table::{COLUMNS, summary};
use models::metrics::PLOTS;

/// The six live charts, from the runtime.
pub fn charts(rt: &Runtime) -> Vec<ChartData> {
    PLOTS
        .iter()
        .enumerate()
        .map(|(m, plot)| ChartData {
            title: plot.title.to_string(),
            y_label: plot.y_label.to_string(),
            log_y: false,
            log_x: false,
            lines: rt
                .run
                .servers
                .iter()
                .enumerate()
                .map(|(i, s)| ChartLine {
                    name: s.config().name.clone(),
                    rgb: server_rgb(i),
                    points: metric_points(rt, i, m),
                    errors: Vec::new(),
                })
                .collect(),
        })
        .collect()
}

/// The x-axis label of the live charts.
const TIME_AXIS: &str = "simulated time (s)";

/// Write the charts as a PNG image (`path` should end in `.png`).
pub fn export_png(path: &Path, rt: &Runtime) -> Result<(), String> {
    export_charts(path, &charts(rt), &rt.scenario.name, TIME_AXIS)
}

/// The charts as an SVG image's text.
pub fn svg_text(rt: &Runtime) -> Result<String, String> {
    charts::svg_string(&charts(rt), &rt.scenario.name, TIME_AXIS)
}

/// The time series of every server as CSV (the same writer as `serversim run --series`).
pub fn series_csv(rt: &Runtime) -> String {
    models::runner::series_csv_of(
        rt.run.servers.iter().map(|s| (s.config().name.as_str(), s.config().architecture.id(), s.recorder().series())),
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
            let mut row = serde_json::Map::new();
            row.insert("name".into(), s.config().name.clone().into());
            row.insert("architecture".into(), s.config().architecture.id().into());
            for (key, value) in COLUMNS.iter().flat_map(|c| c.json.iter()) {
                row.insert((*key).into(), value(&m));
            }
            serde_json::Value::Object(row)
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
