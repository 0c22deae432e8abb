//! The built-in presets: real servers of the WSGI era with their documented defaults, embedded
//! from `models/presets/*.toml` so the binary needs no files at run time.

/// (name, TOML text) of every preset.
pub const PRESETS: &[(&str, &str)] = &[
    ("apache-prefork-mod_python", include_str!("../../presets/apache-prefork-mod_python.toml")),
    ("apache-worker", include_str!("../../presets/apache-worker.toml")),
    ("cherrypy-wsgiserver", include_str!("../../presets/cherrypy-wsgiserver.toml")),
    ("twisted", include_str!("../../presets/twisted.toml")),
    ("mod_wsgi-daemon", include_str!("../../presets/mod_wsgi-daemon.toml")),
    ("nginx-gunicorn", include_str!("../../presets/nginx-gunicorn.toml")),
    ("cgi", include_str!("../../presets/cgi.toml")),
    ("gunicorn-sync", include_str!("../../presets/gunicorn-sync.toml")),
    ("gunicorn-gthread", include_str!("../../presets/gunicorn-gthread.toml")),
];

/// The TOML text of preset `name`.
pub fn preset_text(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Names of all presets.
pub fn preset_names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|(n, _)| *n)
}
