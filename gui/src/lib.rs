//! The serversim window (eframe/egui): live side-by-side simulation of the architectures, for
//! the stage (presenter mode) and the desk.

pub mod app;
pub mod export;
pub mod files;
pub mod lesson_view;
pub mod link;
pub mod picture;
pub mod plots;
pub mod runtime;
pub mod sweep;
pub mod table;
pub mod theme;
pub mod views;

pub use app::{ServersimApp, Settings, View};

/// True if this machine has a display a window can open on.
pub fn display_available() -> bool {
    if cfg!(target_os = "linux") {
        std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
            || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
    } else {
        true
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// Open the window (blocks until it is closed).
pub fn run_native() -> Result<(), eframe::Error> {
    run_native_with(None)
}

#[cfg(not(target_arch = "wasm32"))]
/// Open the window on a scenario file's text and name (or the saved/default scenario if None).
/// An invalid file shows the error panel over the default scenario.
pub fn run_native_with(scenario: Option<(String, String)>) -> Result<(), eframe::Error> {
    run_native_at(scenario, None)
}

#[cfg(not(target_arch = "wasm32"))]
/// Open the window on a scenario (as [`run_native_with`]) or on lesson `lesson` of the course
/// (an index into `lessons::COURSE`), at the step the learner reached.
pub fn run_native_at(scenario: Option<(String, String)>, lesson: Option<usize>) -> Result<(), eframe::Error> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("serversim")
            .with_inner_size([1500.0, 950.0])
            .with_min_inner_size([900.0, 600.0]),
        ..Default::default()
    };
    eframe::run_native(
        "serversim",
        options,
        Box::new(move |cc| {
            let mut app = ServersimApp::from_creation_context(cc);
            if let Some((text, name)) = scenario {
                app.open_default();
                app.open_scenario_text(&text, &name);
            }
            if let Some(i) = lesson {
                app.open_lesson(i);
            }
            Ok(Box::new(app))
        }),
    )
}
