//! Lesson text: Markdown with placeholders such as `{pool.throughput_rps}` or
//! `{pool.latency_ms.p99 / pool.latency_ms.p50 :.1}` that the lesson runner fills in from the
//! run — so a lesson never types a simulated number by hand — and wrapping for the terminal.

use models::claim::{self, EvalError, Expr, MetricRef, Metrics};

/// How a placeholder's number is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Three significant digits (whole numbers kept whole), with thousands separators.
    Auto,
    /// A fixed number of decimals (`:.1`).
    Fixed(usize),
    /// A fraction as a percentage (`:%`, three significant digits; `:.1%` fixed decimals).
    Percent(Option<usize>),
}

/// One piece of a text.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Text as written.
    Literal(String),
    /// A number from the run.
    Value {
        /// What to compute.
        expr: Expr,
        /// How to write it.
        format: Format,
    },
}

/// Markdown with placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// The text as written.
    pub source: String,
    /// Literal text and placeholders, in order.
    pub pieces: Vec<Piece>,
}

impl Text {
    /// A text without placeholders.
    pub fn plain(s: &str) -> Self {
        Text { source: s.to_string(), pieces: vec![Piece::Literal(s.to_string())] }
    }

    /// Parse `{expr}` / `{expr:format}` placeholders; `{{` and `}}` are literal braces.
    pub fn parse(src: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = src.char_indices().peekable();
        while let Some((i, ch)) = chars.next() {
            match ch {
                '{' if chars.peek().map(|c| c.1) == Some('{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek().map(|c| c.1) == Some('}') => {
                    chars.next();
                    lit.push('}');
                }
                '}' => return Err(format!("a lone `}}` at character {i}; write `}}}}` for a brace")),
                '{' => {
                    let rest = &src[i + 1..];
                    let close = rest.find('}').ok_or_else(|| format!("`{{` at character {i} has no closing `}}`"))?;
                    let inner = &rest[..close];
                    for _ in 0..inner.chars().count() + 1 {
                        chars.next();
                    }
                    let (e, f) = match inner.rsplit_once(':') {
                        Some((e, f)) => (e, parse_format(f.trim()).map_err(|m| format!("`{{{inner}}}`: {m}"))?),
                        None => (inner, Format::Auto),
                    };
                    let expr = claim::parse_expr(e.trim()).map_err(|m| format!("`{{{inner}}}`: {}", m.message))?;
                    if !lit.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut lit)));
                    }
                    pieces.push(Piece::Value { expr, format: f });
                }
                _ => lit.push(ch),
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Literal(lit));
        }
        Ok(Text { source: src.to_string(), pieces })
    }

    /// Every metric the placeholders read.
    pub fn metrics(&self) -> Vec<&MetricRef> {
        self.pieces
            .iter()
            .flat_map(|p| match p {
                Piece::Value { expr, .. } => expr.metrics(),
                Piece::Literal(_) => vec![],
            })
            .collect()
    }

    /// Whether the text has placeholders.
    pub fn has_values(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Value { .. }))
    }

    /// The text with every placeholder filled from `m`.
    pub fn fill(&self, m: &dyn Metrics) -> Result<String, EvalError> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Literal(s) => out.push_str(s),
                Piece::Value { expr, format } => out.push_str(&format_number(expr.eval(m)?, *format)),
            }
        }
        Ok(out)
    }

    /// The text with placeholders shown as `…` (before the run has produced its numbers).
    pub fn unfilled(&self) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => s.as_str(),
                Piece::Value { .. } => "…",
            })
            .collect()
    }
}

fn parse_format(f: &str) -> Result<Format, String> {
    let bad =
        || format!("unknown format `:{f}`; allowed: `:.N` (N decimals), `:%` or `:.N%` (a fraction as a percentage)");
    if f == "%" {
        return Ok(Format::Percent(None));
    }
    let Some(digits) = f.strip_prefix('.') else { return Err(bad()) };
    let (digits, percent) = match digits.strip_suffix('%') {
        Some(d) => (d, true),
        None => (digits, false),
    };
    let n: usize = digits.parse().map_err(|_| bad())?;
    if n > 6 {
        return Err(bad());
    }
    Ok(if percent { Format::Percent(Some(n)) } else { Format::Fixed(n) })
}

/// Thousands separators for the whole part of a formatted number.
fn group(s: &str) -> String {
    let (sign, body) = s.strip_prefix('-').map_or(("", s), |b| ("-", b));
    let (whole, frac) = body.split_once('.').map_or((body, None), |(w, f)| (w, Some(f)));
    if whole.len() <= 4 {
        return s.to_string();
    }
    let mut out = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

fn three_significant(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let decimals = (2 - x.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{x:.decimals$}");
    // 0.10 → 0.1, but keep the whole part whole.
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// A number as lesson text shows it.
pub fn format_number(x: f64, f: Format) -> String {
    match f {
        Format::Auto => group(&three_significant(x)),
        Format::Fixed(n) => group(&format!("{x:.n$}")),
        Format::Percent(None) => format!("{}%", three_significant(x * 100.0)),
        Format::Percent(Some(n)) => format!("{:.n$}%", x * 100.0),
    }
}

/// Markdown wrapped for a terminal of `width` columns: paragraphs are re-flowed; headings,
/// list items, tables, quotes and code blocks keep their lines (long list items wrap with a
/// hanging indent). Emphasis markers are dropped.
pub fn wrap_markdown(md: &str, width: usize) -> String {
    /// What the lines gathered so far belong to.
    enum Block {
        Paragraph,
        /// A list item: its first-line prefix and hanging indent.
        Item(String, String),
    }
    let mut out = String::new();
    let mut words: Vec<&str> = Vec::new();
    let mut block = Block::Paragraph;
    let mut in_code = false;
    let flush = |words: &mut Vec<&str>, block: &Block, out: &mut String| {
        if !words.is_empty() {
            let text = plain(&words.join(" "));
            match block {
                Block::Paragraph => out.push_str(&wrap_words(&text, width, "", "")),
                Block::Item(first, hang) => out.push_str(&wrap_words(&text, width, first, hang)),
            }
            words.clear();
        }
    };
    for line in md.lines() {
        let t = line.trim_start();
        if t.starts_with("```") {
            flush(&mut words, &block, &mut out);
            in_code = !in_code;
            continue;
        }
        if in_code {
            out.push_str("    ");
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let marker = if t.starts_with("- ") || t.starts_with("* ") { Some(2) } else { list_number(t) };
        if t.is_empty() {
            flush(&mut words, &block, &mut out);
            block = Block::Paragraph;
            out.push('\n');
        } else if let Some(h) = t.strip_prefix('#') {
            flush(&mut words, &block, &mut out);
            block = Block::Paragraph;
            out.push_str(&plain(h.trim_start_matches('#').trim()).to_uppercase());
            out.push('\n');
        } else if let Some(m) = marker {
            flush(&mut words, &block, &mut out);
            let indent = line.len() - t.len();
            block = Block::Item(format!("{}{}", " ".repeat(indent), &t[..m]), " ".repeat(indent + m));
            words.push(t[m..].trim());
        } else if t.starts_with('|')
            || t.starts_with('>')
            || (line.starts_with("    ") && matches!(block, Block::Paragraph) && words.is_empty())
        {
            flush(&mut words, &block, &mut out);
            block = Block::Paragraph;
            out.push_str(&plain(line));
            out.push('\n');
        } else {
            // A paragraph's next line, or a list item's continuation.
            words.push(t);
        }
    }
    flush(&mut words, &block, &mut out);
    out
}

/// The length of a `12. ` list marker at the start of `t`.
fn list_number(t: &str) -> Option<usize> {
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    (digits > 0 && t[digits..].starts_with(". ")).then_some(digits + 2)
}

/// Markdown emphasis and code markers removed; links shown as their text.
fn plain(s: &str) -> String {
    s.replace("**", "").replace('`', "")
}

fn wrap_words(text: &str, width: usize, first: &str, hang: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for w in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + w.chars().count() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = hang.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(w);
        empty = false;
    }
    if !empty || !line.trim().is_empty() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One;
    impl Metrics for One {
        fn value(&self, _: &MetricRef) -> Result<f64, EvalError> {
            Ok(181.8181)
        }
    }

    #[test]
    fn placeholders_fill_and_format() {
        let t = Text::parse("{a.x} req/s, {a.x:.1}, {a.x / 1000:%}, {a.x * 100:.0}, {{literal}}").unwrap();
        assert_eq!(t.fill(&One).unwrap(), "182 req/s, 181.8, 18.2%, 18,182, {literal}");
        assert_eq!(t.unfilled(), "… req/s, …, …, …, {literal}");
        assert!(Text::parse("{a.x").is_err());
        assert!(Text::parse("a } b").is_err());
        assert!(Text::parse("{a.x:q}").unwrap_err().contains("allowed"));
        assert!(Text::parse("{a}").is_err());
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(format_number(0.01234, Format::Auto), "0.0123");
        assert_eq!(format_number(55.0, Format::Auto), "55");
        assert_eq!(format_number(1234.6, Format::Auto), "1235");
        assert_eq!(format_number(123456.0, Format::Auto), "123,456");
        assert_eq!(format_number(0.5, Format::Percent(Some(0))), "50%");
    }

    #[test]
    fn markdown_wraps_paragraphs_and_keeps_lists() {
        let md = "A **long** paragraph of several words\nthat continues here.\n\n- an item that is long\n  enough to wrap\n- two\n";
        let w = wrap_markdown(md, 20);
        assert_eq!(
            w,
            "A long paragraph of\nseveral words that\ncontinues here.\n\n- an item that is\n  long enough to\n  wrap\n- two\n"
        );
    }
}
