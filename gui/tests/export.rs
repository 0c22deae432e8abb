//! Exports write real files: a 1920×1080 PNG, an SVG naming every server, CSV with a row per
//! server per window, JSON with the table; and "Save" keeps live changes.

use gui::export::{IMAGE_SIZE, export_png, series_csv, summary_json, svg_text};
use gui::runtime::Runtime;

fn running() -> Runtime {
    let mut rt = Runtime::new(models::scenario::default_scenario(), false, 3);
    rt.run.advance(30.0, u64::MAX);
    rt
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("serversim-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn png_and_svg_are_written() {
    let rt = running();
    let png = temp("plots.png");
    export_png(&png, &rt).unwrap();
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height are the big-endian u32s at bytes 16..24.
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((w, h), IMAGE_SIZE);
    let text = svg_text(&rt).unwrap();
    assert!(text.starts_with("<svg"));
    for s in &rt.scenario.servers {
        assert!(text.contains(s.name.as_str()), "{} missing from the SVG legend", s.name);
    }
}

#[test]
fn csv_and_json_hold_every_server() {
    let rt = running();
    let csv = series_csv(&rt);
    // 30 s of 1 s windows for 4 servers, plus the header.
    assert_eq!(csv.lines().count(), 1 + 4 * 30);
    let json: serde_json::Value = serde_json::from_str(&summary_json(&rt)).unwrap();
    assert_eq!(json["servers"].as_array().unwrap().len(), 4);
    assert!(json["servers"][0]["throughput_rps"].as_f64().unwrap() > 0.0);
}

#[test]
fn saving_keeps_live_changes() {
    let mut rt = running();
    rt.set_rate(123.0);
    rt.servers[2].processes = 12;
    rt.apply_resize(2);
    let text = models::scenario::to_toml(&rt.current_scenario());
    let back = models::scenario::parse(&text, "saved.toml").unwrap();
    assert_eq!(back.load.rate_rps, 123.0);
    assert_eq!(back.servers[2].processes, 12);
}

/// The background sweep fills every (server, rate) point, and below capacity each server's
/// throughput is the offered rate (within Poisson noise over 60 s: sd = sqrt(rate/60) req/s).
#[test]
fn the_load_sweep_measures_every_point() {
    let mut sc = models::scenario::default_scenario();
    sc.servers.truncate(2);
    let mut sweep = gui::sweep::Sweep::start(&sc, 4).unwrap();
    sweep.join();
    assert_eq!(sweep.done(), sweep.total());
    let points = sweep.points.lock().unwrap();
    for (s, row) in points.iter().enumerate() {
        let cap = models::runner::capacity(&sc, s).unwrap().1;
        for p in row.iter().map(|p| p.expect("every point is measured")) {
            if p.offered_rps < 0.8 * cap {
                let sd = (p.offered_rps / gui::sweep::SWEEP_DURATION_S).sqrt();
                assert!((p.throughput_rps - p.offered_rps).abs() < 5.0 * sd, "{p:?}");
            }
        }
    }
}

/// Cancelling stops the sweep early.
#[test]
fn the_load_sweep_can_be_cancelled() {
    let sc = models::scenario::default_scenario();
    let mut sweep = gui::sweep::Sweep::start(&sc, 40).unwrap();
    sweep.cancel();
    sweep.join();
    assert!(sweep.done() < sweep.total());
}
