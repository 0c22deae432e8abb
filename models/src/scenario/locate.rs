//! Maps between positions in a scenario file and field paths like `server[2].threads`, so every
//! error can name the file, line, column and field.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A field path, e.g. `server[2].threads`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    /// Its keys, indices dropped: `server[2].threads` → `["server", "threads"]` (how the field
    /// reference names a field).
    pub fn keys(&self) -> Vec<&str> {
        self.0
            .iter()
            .filter_map(|s| match s {
                Seg::Key(k) => Some(k.as_str()),
                Seg::Index(_) => None,
            })
            .collect()
    }

    /// The path with one more key.
    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }

    /// The path with one more index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return write!(f, "(top level)");
        }
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// 1-based line and column of byte `offset` in `src`.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, col)
}

/// A parsed document kept for looking up where fields are.
pub struct Locator<'a> {
    src: &'a str,
    doc: Option<Spanned<DeValue<'a>>>,
}

impl<'a> Locator<'a> {
    /// Index `src` (if it does not parse, positions fall back to the start of the file).
    pub fn new(src: &'a str) -> Self {
        let doc = DeTable::parse(src).ok().map(|t| {
            let span = t.span();
            Spanned::new(span, DeValue::Table(t.into_inner()))
        });
        Self { src, doc }
    }

    /// Line and column of the deepest existing part of `path`.
    pub fn position(&self, path: &FieldPath) -> (usize, usize) {
        let Some(doc) = &self.doc else { return (1, 1) };
        let mut node = doc;
        let mut span = None;
        for seg in &path.0 {
            let next = match seg {
                Seg::Key(k) => node.get_ref().get(k.as_str()),
                Seg::Index(i) => node.get_ref().get(*i),
            };
            match next {
                Some(n) => {
                    span = Some(n.span());
                    node = n;
                }
                None => break,
            }
        }
        span.map_or((1, 1), |s| line_col(self.src, s.start))
    }

    /// The path of the deepest field whose key or value contains byte `offset`.
    pub fn path_at(&self, offset: usize) -> FieldPath {
        let mut best = FieldPath::default();
        if let Some(doc) = &self.doc {
            let mut path = FieldPath::default();
            deepest(doc.get_ref(), offset, &mut path, &mut best);
        }
        best
    }
}

/// Depth-first search for the deepest node containing `offset` (spans of arrays of tables do not
/// enclose their contents, so every branch is searched).
fn deepest(node: &DeValue<'_>, offset: usize, path: &mut FieldPath, best: &mut FieldPath) {
    let mut visit =
        |seg: Seg, key_span: Option<std::ops::Range<usize>>, v: &Spanned<DeValue<'_>>, best: &mut FieldPath| {
            path.0.push(seg);
            let vs = v.span();
            let hit = key_span.is_some_and(|k| k.contains(&offset)) || vs.contains(&offset);
            if hit && path.0.len() > best.0.len() {
                *best = path.clone();
            }
            deepest(v.get_ref(), offset, path, best);
            path.0.pop();
        };
    match node {
        DeValue::Table(t) => {
            for (k, v) in t.iter() {
                visit(Seg::Key(k.get_ref().to_string()), Some(k.span()), v, best);
            }
        }
        DeValue::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                visit(Seg::Index(i), None, v, best);
            }
        }
        _ => {}
    }
}

/// Levenshtein edit distance between two short strings.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
pub fn nearest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lines_and_paths() {
        let src = "name = \"x\"\n[[server]]\nname = \"a\"\n[[server]]\nname = \"b\"\nthreads = 0\n";
        let loc = Locator::new(src);
        let p = FieldPath::default().key("server").index(1).key("threads");
        assert_eq!(p.to_string(), "server[1].threads");
        assert_eq!(loc.position(&p), (6, 11));
        let off = src.find("0\n").unwrap();
        assert_eq!(loc.path_at(off), p);
    }

    #[test]
    fn suggests_nearest_name() {
        assert_eq!(nearest("thread", ["threads", "processes", "name"]), Some("threads"));
        assert_eq!(nearest("zzzzzz", ["threads", "processes"]), None);
    }
}
