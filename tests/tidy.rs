//! Tidy checks over the source tree (as rust-analyzer's `tidy.rs` does): rules about where code
//! may live that the compiler cannot enforce.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The production part of a source file: everything before its `#[cfg(test)]` module.
fn production(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |i| &text[..i])
}

/// "Adding an architecture = one file + one line in REGISTRY": outside `architectures/` (and
/// the enum's own definition in `config.rs`) no production code names a particular
/// `ArchitectureKind`, so nothing can match on it and silently miss a new one. What the rest of
/// the program needs to know about an architecture it asks its `ArchitectureInfo`.
#[test]
fn no_architecture_is_matched_outside_its_own_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "sim/src", "models/src", "gui/src", "lessons/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "the walk found the sources ({} files)", files.len());
    let allowed = [root.join("models/src/architectures"), root.join("models/src/config.rs")];
    let mut offences = Vec::new();
    for f in &files {
        if allowed.iter().any(|a| f.starts_with(a)) {
            continue;
        }
        let text = std::fs::read_to_string(f).expect("a source file reads");
        for (n, line) in production(&text).lines().enumerate() {
            if line.contains("ArchitectureKind::") {
                offences.push(format!("{}:{}: {}", f.strip_prefix(root).unwrap_or(f).display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "production code names an ArchitectureKind outside models/src/architectures/; ask the registry \
         (`architectures::info(kind)`: sizes, capabilities, own_fields, starter) instead:\n{}",
        offences.join("\n")
    );
}

/// The check above is not vacuous: it finds the kinds where they are allowed to be named.
#[test]
fn the_architecture_check_sees_the_architectures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("models/src/architectures"), &mut files);
    let named = files
        .iter()
        .filter(|f| production(&std::fs::read_to_string(f).unwrap_or_default()).contains("ArchitectureKind::"))
        .count();
    assert!(named >= 6, "each of the six architectures names its own kind ({named} files do)");
}

/// The engine defines what architectures implement (`engine::Server`) and architectures depend
/// on the engine, never the reverse: no engine file names the architectures module.
#[test]
fn the_engine_does_not_depend_on_the_architectures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("models/src/engine"), &mut files);
    assert!(files.len() >= 5, "the walk found the engine ({} files)", files.len());
    let offences: Vec<String> = files
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            let name = f.strip_prefix(root).unwrap_or(f).display().to_string();
            text.lines()
                .enumerate()
                .filter(|(_, l)| !l.trim_start().starts_with("//") && l.contains("architectures::"))
                .map(|(n, l)| format!("{name}:{}: {}", n + 1, l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(offences.is_empty(), "the engine uses the architectures module:\n{}", offences.join("\n"));
}
