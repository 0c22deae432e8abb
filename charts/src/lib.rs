//! Charts as image files: a grid of line charts, one line per server, drawn with plotters on a
//! white background with large type (for slides) — for `serversim sweep --chart`, a lesson's
//! charts and the window's export alike. It knows nothing about egui.

use std::path::Path;
#[cfg(not(target_arch = "wasm32"))]
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

/// One chart's worth of data, independent of the drawing backend.
#[derive(Debug, Clone)]
pub struct ChartData {
    /// Chart title.
    pub title: String,
    /// Y-axis label with its unit.
    pub y_label: String,
    /// One line per server.
    pub lines: Vec<ChartLine>,
    /// Draw the y axis logarithmic (latencies spanning orders of magnitude).
    pub log_y: bool,
    /// Draw the x axis logarithmic (connections 1, 10, 100, 1000).
    pub log_x: bool,
}

/// One server's line in a chart.
#[derive(Debug, Clone)]
pub struct ChartLine {
    /// Server name (legend).
    pub name: String,
    /// Colour as (red, green, blue).
    pub rgb: (u8, u8, u8),
    /// Points as (x, value).
    pub points: Vec<(f64, f64)>,
    /// Half-widths of the points' 95% confidence intervals, drawn as error bars (empty: none).
    pub errors: Vec<f64>,
}

/// The servers' colours as (red, green, blue): a colour-blind-safe palette (Okabe–Ito), then two
/// from ColorBrewer's Dark2 so that nine presets side by side get nine colours; the same in the
/// window and in every chart.
pub const PALETTE: [(u8, u8, u8); 10] = [
    (0, 114, 178),   // blue
    (213, 94, 0),    // vermillion
    (0, 158, 115),   // bluish green
    (204, 121, 167), // reddish purple
    (230, 159, 0),   // orange
    (86, 180, 233),  // sky blue
    (140, 86, 75),   // brown
    (127, 127, 127), // grey
    (117, 112, 179), // slate purple
    (166, 118, 29),  // dark gold
];

/// The colour of server `i` as (red, green, blue).
pub fn server_rgb(i: usize) -> (u8, u8, u8) {
    PALETTE[i % PALETTE.len()]
}

/// Size of exported images in pixels (1080p: a slide).
pub const IMAGE_SIZE: (u32, u32) = (1920, 1080);

fn register_fonts() {
    // The fonts egui itself ships; plotters' default font lookup needs system libraries. (In the
    // browser plotters measures text with the page's own fonts.)
    #[cfg(not(target_arch = "wasm32"))]
    {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT);
        });
    }
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
    for (panel_index, (area, chart)) in cells.iter().zip(charts).enumerate() {
        let x_max = chart.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)).fold(1.0f64, f64::max);
        let x_min =
            chart.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)).fold(x_max, f64::min).min(x_max - 1.0);
        // The top of the data, error bars included.
        let data_max = chart
            .lines
            .iter()
            .flat_map(|l| {
                l.points
                    .iter()
                    .enumerate()
                    .map(|(k, p)| p.1 + l.errors.get(k).copied().filter(|e| e.is_finite()).unwrap_or(0.0))
            })
            .fold(0.0f64, f64::max);
        // An all-zero chart still gets a readable 0..1 axis.
        let y_max = if data_max > 1e-9 { data_max * 1.1 } else { 1.0 };
        let builder = || {
            let mut b = ChartBuilder::on(area);
            b.caption(&chart.title, ("sans-serif", 26))
                .margin(14)
                .x_label_area_size(48)
                // Room for six-digit tick labels beside the axis description.
                .y_label_area_size(96);
            b
        };
        // A log axis shows every line's knee, not only the worst one's.
        let positive = chart.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).filter(|y| *y > 0.0);
        let y_min = positive.fold(f64::INFINITY, f64::min);
        let y_min = if y_min.is_finite() { y_min / 1.5 } else { 0.1 };
        let y_top = y_max.max(y_min * 10.0);
        let log_y = || {
            let (bold, light) = log_ticks(y_min, y_top);
            (y_min..y_top).log_scale().with_key_points(bold).with_light_points(light)
        };
        // A log x axis (connections 1 … 1000) with a margin so the end points are not on the edge.
        let (x_lo, x_hi) = (x_min / 1.3, x_max * 1.3);
        let log_x = || {
            let (bold, light) = log_ticks(x_lo, x_hi);
            (x_lo..x_hi).log_scale().with_key_points(bold).with_light_points(light)
        };
        let legend = panel_index == 0;
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        match (chart.log_x && x_min > 0.0, chart.log_y) {
            (false, false) => {
                let mut c = builder().build_cartesian_2d(x_min..x_max, 0.0..y_max).map_err(err)?;
                panel(&mut c, chart, x_label, legend, 0.0).map_err(e)?;
            }
            (false, true) => {
                let mut c = builder().build_cartesian_2d(x_min..x_max, log_y()).map_err(err)?;
                panel(&mut c, chart, x_label, legend, y_min).map_err(e)?;
            }
            (true, false) => {
                let mut c = builder().build_cartesian_2d(log_x(), 0.0..y_max).map_err(err)?;
                panel(&mut c, chart, x_label, legend, 0.0).map_err(e)?;
            }
            (true, true) => {
                let mut c = builder().build_cartesian_2d(log_x(), log_y()).map_err(err)?;
                panel(&mut c, chart, x_label, legend, y_min).map_err(e)?;
            }
        }
    }
    root.present().map_err(err)
}

/// Draw one panel's mesh, lines, error bars and (if `legend`) the legend on `c`, whose y axis is
/// linear or logarithmic and starts at `floor`.
fn panel<'a, DB: DrawingBackend + 'a, X, Y>(
    c: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    chart: &ChartData,
    x_label: &str,
    legend: bool,
    floor: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let err = |e| e;
    let mut mesh = c.configure_mesh();
    mesh.x_desc(x_label)
        .y_desc(&chart.y_label)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .label_style(("sans-serif", 18))
        .axis_desc_style(("sans-serif", 20))
        .light_line_style(RGBColor(235, 235, 235));
    mesh.draw().map_err(err)?;
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
    for line in &chart.lines {
        let (r, g, b) = line.rgb;
        let bars = line.points.iter().zip(&line.errors).filter(|(_, e)| e.is_finite() && **e > 0.0);
        c.draw_series(bars.map(|(&(x, y), &e)| {
            // On a log axis a bar reaching zero or below ends at the axis' bottom.
            ErrorBar::new_vertical(x, (y - e).max(floor), y, y + e, RGBColor(r, g, b).stroke_width(2), 10)
        }))
        .map_err(err)?;
    }
    // One legend per figure: the servers are the same in every panel.
    if legend {
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// Tick values for a log axis over `lo..hi`: labelled 1, 2, 5 × 10ᵏ (only 10ᵏ past three
/// decades), grid lines at every 1 … 9 × 10ᵏ. (Plotters' own log axis labels nothing below the
/// first power of ten inside the range, so a p99 axis from 150 to 4000 ms showed 1000 … 4000 only.)
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut bold, mut light) = (Vec::new(), Vec::new());
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return (bold, light);
    }
    let many_decades = (hi / lo).log10() > 3.0;
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi {
        for m in 1..=9 {
            let v = decade * f64::from(m);
            if v >= lo && v <= hi {
                light.push(v);
                if m == 1 || (!many_decades && (m == 2 || m == 5)) {
                    bold.push(v);
                }
            }
        }
        decade *= 10.0;
    }
    (bold, light)
}

/// A tick label without spurious decimals: whole numbers as such ("30000", not "30000.0"),
/// others with at most three significant decimals.
fn tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 * v.abs().max(1.0) {
        format!("{:.0}", v.round())
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The same charts as `export_charts` writes to an `.svg` file, as SVG text (for a caller with
/// no file system: the web page offers it as a download).
pub fn svg_string(charts: &[ChartData], title: &str, x_label: &str) -> Result<String, String> {
    register_fonts();
    let mut out = String::new();
    draw(SVGBackend::with_string(&mut out, IMAGE_SIZE).into_drawing_area(), charts, title, x_label)?;
    Ok(out)
}

/// Write any set of charts (up to six, laid out in a grid) sharing the x-axis `x_label`: a PNG
/// or an SVG image, chosen by the file name's extension (`.png` or `.svg`).
pub fn export_charts(path: &Path, charts: &[ChartData], title: &str, x_label: &str) -> Result<(), String> {
    register_fonts();
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        #[cfg(not(target_arch = "wasm32"))]
        Some("png") => draw(BitMapBackend::new(path, IMAGE_SIZE).into_drawing_area(), charts, title, x_label),
        Some("svg") => draw(SVGBackend::new(path, IMAGE_SIZE).into_drawing_area(), charts, title, x_label),
        _ => Err(format!("{}: a chart file must end in .png or .svg", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axes_label_below_their_first_power_of_ten() {
        let (bold, light) = log_ticks(150.0, 4000.0);
        let round = |v: &[f64]| v.iter().map(|x| x.round() as i64).collect::<Vec<_>>();
        assert_eq!(round(&bold), [200, 500, 1000, 2000]);
        assert_eq!(round(&light), [200, 300, 400, 500, 600, 700, 800, 900, 1000, 2000, 3000, 4000]);
        // Past three decades only the powers of ten are labelled.
        assert_eq!(round(&log_ticks(2.0, 50_000.0).0), [10, 100, 1000, 10_000]);
        assert!(log_ticks(0.0, 10.0).0.is_empty());
    }

    #[test]
    fn ticks_have_no_spurious_decimals() {
        assert_eq!(tick(30_000.0), "30000");
        assert_eq!(tick(200.000_000_000_000_03), "200");
        assert_eq!(tick(0.25), "0.25");
    }
}
