//! The serversim course: lesson files (`lessons/NN-slug.toml`), their validation, the runner
//! that simulates each run step, and the checker of every claim a lesson makes. The window, the
//! terminal and the tests all read lessons through this crate.

pub mod format;
pub mod progress;
pub mod run;
pub mod text;

pub use format::{Lesson, LessonError, Step, StepKind, parse};
pub use run::{Answer, ClaimResult, Outcomes, RunOutcome};

/// The course: every lesson file, in order, compiled into the program (so the window, the
/// terminal and a web page have them without a file system). `tests/course.rs` checks that this list
/// and the folder agree.
pub const COURSE: &[(&str, &str)] = &[
    ("01-littles-law.toml", include_str!("../01-littles-law.toml")),
    ("02-threads-for-io.toml", include_str!("../02-threads-for-io.toml")),
    ("03-event-loop.toml", include_str!("../03-event-loop.toml")),
    ("04-the-gil.toml", include_str!("../04-the-gil.toml")),
    ("05-memory.toml", include_str!("../05-memory.toml")),
    ("06-preload-and-startup.toml", include_str!("../06-preload-and-startup.toml")),
    ("07-slow-clients.toml", include_str!("../07-slow-clients.toml")),
    ("08-output-buffers.toml", include_str!("../08-output-buffers.toml")),
    ("09-bad-code.toml", include_str!("../09-bad-code.toml")),
    ("10-request-queueing.toml", include_str!("../10-request-queueing.toml")),
    ("11-retries.toml", include_str!("../11-retries.toml")),
    ("12-database.toml", include_str!("../12-database.toml")),
    ("13-mixing-architectures.toml", include_str!("../13-mixing-architectures.toml")),
    ("14-capacity-planning.toml", include_str!("../14-capacity-planning.toml")),
];

/// The course's lessons, parsed. A bundled lesson that does not parse is a bug the tests catch;
/// here it is reported, not hidden.
pub fn course() -> Vec<Result<Lesson, LessonError>> {
    COURSE.iter().map(|(name, src)| parse(src, &format!("lessons/{name}"))).collect()
}

/// The bundled lesson named by `id`: its number (`3`, `03`) or its slug (`event-loop`).
pub fn find(id: &str) -> Option<(&'static str, &'static str)> {
    let id = id.trim().trim_end_matches(".toml");
    COURSE.iter().copied().find(|(name, _)| {
        let (n, slug) = format::split_name(name);
        slug == id || id.parse::<u32>().ok() == Some(n) && n > 0 || name.trim_end_matches(".toml") == id
    })
}
