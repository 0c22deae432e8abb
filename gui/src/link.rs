//! Links into the app: a page address's fragment names a lesson or an example scenario
//! (`#lesson=3`, `#scenario=slow-reader-dos`), so a lesson's text or a talk's slide can link
//! straight to a running simulation in the browser.

/// What a fragment opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Lesson `n` of the course, 0-based (`#lesson=1` is the first).
    Lesson(usize),
    /// An example of `models::scenario::EXAMPLES`, by name.
    Scenario(String),
}

/// Read a fragment (with or without its `#`). `Ok(None)` for an empty one; an error naming what
/// is allowed for one that names nothing.
pub fn parse(fragment: &str) -> Result<Option<Link>, String> {
    let f = fragment.trim_start_matches('#');
    if f.is_empty() {
        return Ok(None);
    }
    let course = lessons::COURSE.len();
    if let Some(n) = f.strip_prefix("lesson=") {
        return match n.parse::<usize>() {
            Ok(n) if (1..=course).contains(&n) => Ok(Some(Link::Lesson(n - 1))),
            _ => Err(format!("the link #{f} names no lesson; allowed: #lesson=1 … #lesson={course}")),
        };
    }
    if let Some(name) = f.strip_prefix("scenario=") {
        let names: Vec<&str> = models::scenario::EXAMPLES.iter().map(|(n, _)| *n).collect();
        return if names.contains(&name) {
            Ok(Some(Link::Scenario(name.to_string())))
        } else {
            Err(format!("the link #{f} names no example; allowed: #scenario= one of {}", names.join(", ")))
        };
    }
    Err(format!("the link #{f} is not understood; allowed: #lesson=N or #scenario=NAME"))
}

/// "N ms after the page started loading" in the browser (its `performance.now()`); empty on the
/// desktop.
pub fn since_page_load() -> String {
    #[cfg(target_arch = "wasm32")]
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        return format!("{:.0} ms after the page started loading", p.now());
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_name_lessons_and_examples() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("#"), Ok(None));
        assert_eq!(parse("#lesson=1"), Ok(Some(Link::Lesson(0))));
        let last = lessons::COURSE.len();
        assert_eq!(parse(&format!("lesson={last}")), Ok(Some(Link::Lesson(last - 1))));
        assert!(parse("#lesson=0").unwrap_err().contains(&format!("#lesson={last}")));
        assert!(parse(&format!("#lesson={}", last + 1)).is_err());
        assert!(parse("#lesson=two").is_err());
        assert_eq!(parse("#scenario=slow-reader-dos"), Ok(Some(Link::Scenario("slow-reader-dos".into()))));
        assert!(parse("#scenario=nope").unwrap_err().contains("slow-reader-dos"));
        assert!(parse("#bogus").is_err());
    }
}
