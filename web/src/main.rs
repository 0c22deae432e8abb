//! serversim-web: the browser build's entry point. In the page (wasm32) it starts the window on
//! the page's canvas; `#bench` first measures the simulation's speed on the M/M/8 reference and
//! logs it. Natively, `serversim-web bench` measures the same, for comparison.

#[cfg(target_arch = "wasm32")]
fn main() {
    use eframe::wasm_bindgen::JsCast as _;
    let Some(window) = web_sys::window() else { return };
    if window.location().hash().is_ok_and(|h| h == "#bench") {
        match serversim_web::mmc_speed() {
            Ok(speed) => gui::files::console(&format!("serversim: bench {speed}")),
            Err(e) => web_sys::console::error_1(&format!("serversim: bench failed: {e}").into()),
        }
    }
    wasm_bindgen_futures::spawn_local(async move {
        let canvas = window
            .document()
            .and_then(|d| d.get_element_by_id("serversim"))
            .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok());
        let Some(canvas) = canvas else {
            web_sys::console::error_1(&"serversim: the page has no <canvas id=\"serversim\">".into());
            return;
        };
        let started = eframe::WebRunner::new()
            .start(
                canvas,
                eframe::WebOptions::default(),
                Box::new(|cc| Ok(Box::new(gui::ServersimApp::from_creation_context(cc)))),
            )
            .await;
        if let Err(e) = started {
            web_sys::console::error_1(&e);
        }
        if let Some(loading) = window.document().and_then(|d| d.get_element_by_id("loading")) {
            loading.remove();
        }
    });
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("bench") => match serversim_web::mmc_speed() {
            Ok(speed) => println!("{speed}"),
            Err(e) => {
                eprintln!("serversim-web: {e}");
                std::process::exit(1);
            }
        },
        _ => {
            eprintln!(
                "serversim-web is the browser build: scripts/web-build.sh builds it into target/web/.\n\
                 `cargo run --release -p serversim-web -- bench` measures the simulation's speed natively, as the page does at #bench."
            );
            std::process::exit(2);
        }
    }
}
