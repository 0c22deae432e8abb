//! Files in and out, on the desktop (dialogs and the file system) and in the browser (a file
//! picker and dropped files read asynchronously, saving as a download). The window asks to
//! "open a scenario" or "save this text as NAME"; what is read arrives through an `Inbox` that
//! it empties every frame, the same way on both.

use std::sync::{Arc, Mutex};

/// A file read (or the reason it could not be): its name and its text.
pub type ReadFile = (String, Result<String, String>);

/// Files read since the window last looked, in the order they arrived.
#[derive(Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<ReadFile>>>);

impl Inbox {
    /// Take every file that has arrived.
    pub fn take(&self) -> Vec<ReadFile> {
        self.0.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
    }

    fn put(&self, name: String, bytes: Result<Vec<u8>, String>) {
        let text = bytes.and_then(|b| String::from_utf8(b).map_err(|e| format!("not UTF-8 text: {e}")));
        if let Ok(mut v) = self.0.lock() {
            v.push((name, text));
        }
    }
}

/// Ask the user for a scenario file; its text arrives in `inbox` (nothing if they cancel).
pub fn pick_scenario(inbox: &Inbox) {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(path) = rfd::FileDialog::new().add_filter("scenario", &["toml"]).pick_file() {
        inbox.put(path.display().to_string(), std::fs::read(&path).map_err(|e| e.to_string()));
    }
    #[cfg(target_arch = "wasm32")]
    {
        let inbox = inbox.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(file) = rfd::AsyncFileDialog::new().add_filter("scenario", &["toml"]).pick_file().await {
                let name = file.file_name();
                inbox.put(name, Ok(file.read().await));
            }
        });
    }
}

/// Read files dropped on the window into `inbox`.
pub fn read_dropped(files: Vec<egui::DroppedFileHandle>, inbox: &Inbox) {
    for f in files {
        let name = f.path().display().to_string();
        #[cfg(not(target_arch = "wasm32"))]
        inbox.put(name, f.bytes());
        #[cfg(target_arch = "wasm32")]
        {
            let inbox = inbox.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let bytes = f.bytes_async().await;
                inbox.put(name, bytes);
            });
        }
    }
}

/// Whether images can be saved as PNG here (the desktop; the page offers SVG).
pub const CAN_SAVE_PNG: bool = cfg!(not(target_arch = "wasm32"));

/// Save what `write` produces as a file: on the desktop where the user chooses in a save dialog
/// (suggesting `name`), in the browser as a download named `name`. `write` gets the path on the
/// desktop (`None` in the browser) and returns the bytes to write, or writes the file itself
/// and returns `None`. `Ok(None)` if the user cancelled; `Ok(Some(where))` once saved.
pub fn save(
    name: &str,
    ext: &str,
    write: impl FnOnce(Option<&std::path::Path>) -> Result<Option<Vec<u8>>, String>,
) -> Result<Option<String>, String> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let Some(path) = rfd::FileDialog::new().add_filter(ext, &[ext]).set_file_name(name).save_file() else {
            return Ok(None);
        };
        let shown = path.display().to_string();
        if let Some(bytes) = write(Some(&path))? {
            std::fs::write(&path, bytes).map_err(|e| format!("could not write {shown}: {e}"))?;
        }
        Ok(Some(shown))
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = ext;
        let bytes = write(None)?.ok_or_else(|| format!("{name} cannot be made in the browser"))?;
        download(name, &bytes)?;
        Ok(Some(name.to_string()))
    }
}

/// Offer `bytes` to the browser as a download named `name`.
#[cfg(target_arch = "wasm32")]
fn download(name: &str, bytes: &[u8]) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let js = |e: wasm_bindgen::JsValue| format!("the browser refused the download: {e:?}");
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(js)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js)?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a").map_err(js)?.dyn_into().map_err(|_| "no <a>")?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url).map_err(js)?;
    Ok(())
}

/// Say something in the browser's console (what `scripts/web-check.sh` reads); nothing on the
/// desktop.
pub fn console(message: &str) {
    #[cfg(target_arch = "wasm32")]
    web_sys::console::log_1(&message.into());
    #[cfg(not(target_arch = "wasm32"))]
    let _ = message;
}
