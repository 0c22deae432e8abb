//! Claims: machine-checked statements about a run, such as
//! `threads.throughput_rps ~ 10 / 0.055 within 5%` or
//! `prefork.requests.rejected > 10 * threaded.requests.rejected`. A claim compares arithmetic
//! expressions over the metrics that `serversim run --json` reports (one definition of every
//! metric: the JSON view), numbers and a few closed-form functions of queueing theory.
//!
//! Grammar (whitespace is free):
//!
//! ```text
//! claim      := comparison ("and" comparison)*
//! comparison := expr op expr ["within" number ["%"]]      op: < <= > >= == ~
//! expr       := term (("+" | "-") term)*
//! term       := unary (("*" | "/") unary)*
//! unary      := "-" unary | atom
//! atom       := number | "(" expr ")" | function "(" expr ("," expr)* ")" | metric
//! metric     := server ("." field)+ ["@" run]      server: a name, or quoted 'like this'
//! ```
//!
//! `~` means "equal within the stated tolerance", which it requires; `within 5%` is relative to
//! the right-hand side, `within 2` is absolute. Functions: `min`, `max`, `abs`, `sqrt`, and
//! `erlang_c(c, a)`, the probability that an arrival waits in an M/M/c queue offered `a` erlangs.

use std::fmt;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A constant.
    Number(f64),
    /// A metric of one server, optionally of a named run.
    Metric(MetricRef),
    /// `-x`
    Neg(Box<Expr>),
    /// `a op b` for + - * /.
    Binary(Box<Expr>, char, Box<Expr>),
    /// A function of its arguments.
    Call(Function, Vec<Expr>),
}

/// A reference to one number in a run's JSON report.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRef {
    /// The server's name as in the scenario.
    pub server: String,
    /// The path in that server's JSON object, e.g. `["latency_ms", "p99"]`.
    pub path: Vec<String>,
    /// The run it is taken from (`@name`); the current run when `None`.
    pub run: Option<String>,
}

impl fmt::Display for MetricRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_plain_name(&self.server) {
            write!(f, "{}", self.server)?;
        } else {
            write!(f, "'{}'", self.server)?;
        }
        for p in &self.path {
            write!(f, ".{p}")?;
        }
        if let Some(r) = &self.run {
            write!(f, "@{r}")?;
        }
        Ok(())
    }
}

/// The functions a claim may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// The smallest argument.
    Min,
    /// The largest argument.
    Max,
    /// |x|
    Abs,
    /// √x
    Sqrt,
    /// Erlang C: P(wait) in M/M/c with `c` servers offered `a` = λ·S erlangs.
    ErlangC,
}

impl Function {
    const ALL: [(&'static str, Function, usize); 5] = [
        ("min", Function::Min, 0),
        ("max", Function::Max, 0),
        ("abs", Function::Abs, 1),
        ("sqrt", Function::Sqrt, 1),
        ("erlang_c", Function::ErlangC, 2),
    ];

    fn by_name(name: &str) -> Option<(Function, usize)> {
        Self::ALL.iter().find(|(n, ..)| *n == name).map(|&(_, f, arity)| (f, arity))
    }
}

/// How two sides are compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// `<`
    Less,
    /// `<=`
    LessEq,
    /// `>`
    Greater,
    /// `>=`
    GreaterEq,
    /// `==`, exact.
    Equal,
    /// `~`, equal within the tolerance.
    About,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Less => "<",
            Op::LessEq => "<=",
            Op::Greater => ">",
            Op::GreaterEq => ">=",
            Op::Equal => "==",
            Op::About => "~",
        }
    }
}

/// How close `~` must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// A fraction of the right-hand side (`within 5%` is 0.05).
    Relative(f64),
    /// An absolute difference, in the metric's own unit.
    Absolute(f64),
}

/// One comparison of a claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Left side.
    pub left: Expr,
    /// The comparison.
    pub op: Op,
    /// Right side.
    pub right: Expr,
    /// Required for `~`, refused otherwise.
    pub tolerance: Option<Tolerance>,
}

/// A parsed claim: every comparison must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// The comparisons joined by `and`.
    pub all: Vec<Comparison>,
    /// The text it was parsed from.
    pub source: String,
}

/// Why a claim or expression could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at character {at}: {message}")]
pub struct ParseError {
    /// 0-based character offset in the text.
    pub at: usize,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub String);

/// Where metric values come from.
pub trait Metrics {
    /// The value of `metric`, or why there is none (unknown server, field or run; not a number).
    fn value(&self, metric: &MetricRef) -> Result<f64, EvalError>;
}

/// The outcome of checking a claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Whether every comparison held.
    pub holds: bool,
    /// Each comparison with the values it compared, e.g. `181.2 ~ 181.8 (within 5%: off by 0.3%)`.
    pub detail: String,
}

fn is_plain_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s != "within"
        && s != "and"
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Name(String),
    Quoted(String),
    Sym(&'static str),
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '_') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().filter(|&&c| c != '_').collect();
            let n = text
                .parse::<f64>()
                .map_err(|_| ParseError { at: start, message: format!("`{text}` is not a number") })?;
            out.push((start, Tok::Num(n)));
        } else if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((start, Tok::Name(chars[start..i].iter().collect())));
        } else if c == '\'' || c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            if i == chars.len() {
                return Err(ParseError { at: start, message: format!("the quoted name has no closing {c}") });
            }
            out.push((start, Tok::Quoted(chars[start + 1..i].iter().collect())));
            i += 1;
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let sym = match two.as_str() {
                "<=" => Some("<="),
                ">=" => Some(">="),
                "==" => Some("=="),
                _ => None,
            };
            if let Some(s) = sym {
                out.push((start, Tok::Sym(s)));
                i += 2;
                continue;
            }
            let s = match c {
                '+' => "+",
                '-' => "-",
                '*' => "*",
                '/' => "/",
                '(' => "(",
                ')' => ")",
                ',' => ",",
                '.' => ".",
                '@' => "@",
                '<' => "<",
                '>' => ">",
                '~' => "~",
                '%' => "%",
                _ => {
                    return Err(ParseError {
                        at: start,
                        message: format!(
                            "unexpected `{c}`; allowed: numbers, metrics (server.field), + - * / ( ), \
                             comparisons < <= > >= == ~, `within`, `and`"
                        ),
                    });
                }
            };
            out.push((start, Tok::Sym(s)));
            i += 1;
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn new(src: &str) -> Result<Self, ParseError> {
        Ok(Parser { toks: lex(src)?, pos: 0, end: src.chars().count() })
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.0)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.1)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { at: self.at(), message: message.into() })
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(t)) if *t == s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Name(t)) if t == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn done(&self) -> bool {
        self.pos == self.toks.len()
    }

    fn claim(&mut self) -> Result<Vec<Comparison>, ParseError> {
        let mut all = vec![self.comparison()?];
        while self.eat_word("and") {
            all.push(self.comparison()?);
        }
        if !self.done() {
            return self.err("expected `and` or the end of the claim");
        }
        Ok(all)
    }

    fn comparison(&mut self) -> Result<Comparison, ParseError> {
        let left = self.expr()?;
        let op = match self.peek() {
            Some(Tok::Sym("<")) => Op::Less,
            Some(Tok::Sym("<=")) => Op::LessEq,
            Some(Tok::Sym(">")) => Op::Greater,
            Some(Tok::Sym(">=")) => Op::GreaterEq,
            Some(Tok::Sym("==")) => Op::Equal,
            Some(Tok::Sym("~")) => Op::About,
            _ => return self.err("expected a comparison: < <= > >= == or ~ (with `within`)"),
        };
        self.pos += 1;
        let right = self.expr()?;
        let tolerance = if self.eat_word("within") {
            let at = self.at();
            let Some(Tok::Num(n)) = self.peek().cloned() else {
                return self.err("`within` takes a number, e.g. `within 5%` or `within 2`");
            };
            self.pos += 1;
            let t = if self.eat_sym("%") { Tolerance::Relative(n / 100.0) } else { Tolerance::Absolute(n) };
            if op != Op::About {
                return Err(ParseError {
                    at,
                    message: format!("`within` belongs to `~` only, not to `{}`", op.symbol()),
                });
            }
            Some(t)
        } else {
            None
        };
        if op == Op::About && tolerance.is_none() {
            return self.err("`~` needs a tolerance: add `within 5%` (relative) or `within 2` (absolute)");
        }
        Ok(Comparison { left, op, right, tolerance })
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.term()?;
        loop {
            if self.eat_sym("+") {
                e = Expr::Binary(Box::new(e), '+', Box::new(self.term()?));
            } else if self.eat_sym("-") {
                e = Expr::Binary(Box::new(e), '-', Box::new(self.term()?));
            } else {
                return Ok(e);
            }
        }
    }

    fn term(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.unary()?;
        loop {
            if self.eat_sym("*") {
                e = Expr::Binary(Box::new(e), '*', Box::new(self.unary()?));
            } else if self.eat_sym("/") {
                e = Expr::Binary(Box::new(e), '/', Box::new(self.unary()?));
            } else {
                return Ok(e);
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_sym("-") { Ok(Expr::Neg(Box::new(self.unary()?))) } else { self.atom() }
    }

    fn atom(&mut self) -> Result<Expr, ParseError> {
        let at = self.at();
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(Expr::Number(n))
            }
            Some(Tok::Sym("(")) => {
                self.pos += 1;
                let e = self.expr()?;
                if !self.eat_sym(")") {
                    return self.err("expected `)`");
                }
                Ok(e)
            }
            Some(Tok::Name(name)) if matches!(self.toks.get(self.pos + 1), Some((_, Tok::Sym("(")))) => {
                let Some((f, arity)) = Function::by_name(&name) else {
                    let names: Vec<&str> = Function::ALL.iter().map(|f| f.0).collect();
                    return Err(ParseError {
                        at,
                        message: format!("unknown function `{name}`; allowed: {}", names.join(", ")),
                    });
                };
                self.pos += 2;
                let mut args = vec![self.expr()?];
                while self.eat_sym(",") {
                    args.push(self.expr()?);
                }
                if !self.eat_sym(")") {
                    return self.err("expected `,` or `)`");
                }
                if arity != 0 && args.len() != arity {
                    return Err(ParseError {
                        at,
                        message: format!("`{name}` takes {arity} argument(s), not {}", args.len()),
                    });
                }
                Ok(Expr::Call(f, args))
            }
            Some(Tok::Name(server)) | Some(Tok::Quoted(server)) => {
                if server == "within" || server == "and" {
                    return self.err(format!("`{server}` cannot stand here; expected a number or a metric"));
                }
                self.pos += 1;
                let mut path = Vec::new();
                while self.eat_sym(".") {
                    match self.peek().cloned() {
                        Some(Tok::Name(f)) => {
                            self.pos += 1;
                            path.push(f);
                        }
                        _ => return self.err("expected a field name after `.`"),
                    }
                }
                if path.is_empty() {
                    return Err(ParseError {
                        at,
                        message: format!(
                            "`{server}` needs a field: write server.field, e.g. {}.throughput_rps",
                            MetricRef { server: server.clone(), path: vec![], run: None }
                        ),
                    });
                }
                let run = if self.eat_sym("@") {
                    match self.peek().cloned() {
                        Some(Tok::Name(r)) | Some(Tok::Quoted(r)) => {
                            self.pos += 1;
                            Some(r)
                        }
                        _ => return self.err("expected a run's id after `@`"),
                    }
                } else {
                    None
                };
                Ok(Expr::Metric(MetricRef { server, path, run }))
            }
            _ => self.err("expected a number, a metric (server.field), a function or `(`"),
        }
    }
}

/// Parse a claim such as `a.throughput_rps ~ 100 within 5% and a.requests.rejected == 0`.
pub fn parse_claim(src: &str) -> Result<Claim, ParseError> {
    let mut p = Parser::new(src)?;
    if p.done() {
        return p.err("the claim is empty; write e.g. `server.throughput_rps > 100`");
    }
    Ok(Claim { all: p.claim()?, source: src.to_string() })
}

/// Parse an expression (no comparison), e.g. `threads.latency_ms.p99 / threads.latency_ms.p50`.
pub fn parse_expr(src: &str) -> Result<Expr, ParseError> {
    let mut p = Parser::new(src)?;
    if p.done() {
        return p.err("the expression is empty");
    }
    let e = p.expr()?;
    if !p.done() {
        return p.err("expected an operator (+ - * /) or the end of the expression");
    }
    Ok(e)
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue offered `a` erlangs
/// (`a` = arrival rate × mean service time); 1 when `a >= c`.
pub fn erlang_c(c: f64, a: f64) -> f64 {
    if a >= c {
        return 1.0;
    }
    // Erlang B by its stable recurrence, then C from B.
    let mut b = 1.0;
    let n = c.round() as u64;
    for k in 1..=n {
        b = a * b / (k as f64 + a * b);
    }
    let rho = a / c;
    b / (1.0 - rho + rho * b)
}

impl Expr {
    /// Every metric the expression reads.
    pub fn metrics(&self) -> Vec<&MetricRef> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a MetricRef>) {
        match self {
            Expr::Number(_) => {}
            Expr::Metric(m) => out.push(m),
            Expr::Neg(e) => e.collect(out),
            Expr::Binary(a, _, b) => {
                a.collect(out);
                b.collect(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.collect(out)),
        }
    }

    /// The value, reading metrics from `m`. Division by zero and a non-finite result are errors.
    pub fn eval(&self, m: &dyn Metrics) -> Result<f64, EvalError> {
        let v = match self {
            Expr::Number(n) => *n,
            Expr::Metric(r) => m.value(r)?,
            Expr::Neg(e) => -e.eval(m)?,
            Expr::Binary(a, op, b) => {
                let (x, y) = (a.eval(m)?, b.eval(m)?);
                match op {
                    '+' => x + y,
                    '-' => x - y,
                    '*' => x * y,
                    _ => {
                        if y == 0.0 {
                            return Err(EvalError(format!("division by zero ({x} / 0)")));
                        }
                        x / y
                    }
                }
            }
            Expr::Call(f, args) => {
                let v: Vec<f64> = args.iter().map(|a| a.eval(m)).collect::<Result<_, _>>()?;
                match f {
                    Function::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
                    Function::Max => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    Function::Abs => v[0].abs(),
                    Function::Sqrt => v[0].sqrt(),
                    Function::ErlangC => {
                        if !(v[0] >= 1.0 && v[0].fract() == 0.0 && v[1] >= 0.0) {
                            return Err(EvalError(format!(
                                "erlang_c(c, a) needs a whole c >= 1 and a >= 0, not ({}, {})",
                                v[0], v[1]
                            )));
                        }
                        erlang_c(v[0], v[1])
                    }
                }
            }
        };
        if v.is_finite() { Ok(v) } else { Err(EvalError(format!("the value is not a finite number ({v})"))) }
    }
}

/// A number as a claim's detail shows it: at most 4 significant digits, no exponent for
/// everyday magnitudes.
pub fn show(x: f64) -> String {
    // Rounding noise (1e-14 %) is zero to a reader.
    if x.abs() < 1e-9 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-4..1e9).contains(&a) {
        return format!("{x:.3e}");
    }
    let digits = (4 - 1 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

impl Claim {
    /// Every metric the claim reads.
    pub fn metrics(&self) -> Vec<&MetricRef> {
        self.all.iter().flat_map(|c| c.left.metrics().into_iter().chain(c.right.metrics())).collect()
    }

    /// Check the claim against `m`.
    pub fn check(&self, m: &dyn Metrics) -> Result<Verdict, EvalError> {
        let mut holds = true;
        let mut parts = Vec::new();
        for c in &self.all {
            let (l, r) = (c.left.eval(m)?, c.right.eval(m)?);
            let (ok, note) = match (c.op, c.tolerance) {
                (Op::Less, _) => (l < r, String::new()),
                (Op::LessEq, _) => (l <= r, String::new()),
                (Op::Greater, _) => (l > r, String::new()),
                (Op::GreaterEq, _) => (l >= r, String::new()),
                (Op::Equal, _) => (l == r, String::new()),
                (Op::About, Some(Tolerance::Relative(f))) => {
                    let off = if r == 0.0 { f64::INFINITY } else { (l - r).abs() / r.abs() };
                    (off <= f, format!(" (within {}%: off by {}%)", show(f * 100.0), show(off * 100.0)))
                }
                (Op::About, Some(Tolerance::Absolute(t))) => {
                    let off = (l - r).abs();
                    (off <= t, format!(" (within {}: off by {})", show(t), show(off)))
                }
                (Op::About, None) => return Err(EvalError("`~` needs a tolerance".into())),
            };
            holds &= ok;
            parts.push(format!("{} {} {}{note}", show(l), c.op.symbol(), show(r)));
        }
        Ok(Verdict { holds, detail: parts.join(" and ") })
    }
}

/// A run's metrics read from its JSON view (`serversim run --json`), by server name.
pub struct JsonMetrics<'a> {
    /// The report's `servers` array.
    pub servers: &'a [serde_json::Value],
}

impl JsonMetrics<'_> {
    /// The value at `path` in server `server`'s JSON object.
    pub fn lookup(&self, server: &str, path: &[String]) -> Result<f64, EvalError> {
        let names: Vec<&str> = self.servers.iter().filter_map(|s| s["name"].as_str()).collect();
        let Some(obj) = self.servers.iter().find(|s| s["name"].as_str() == Some(server)) else {
            return Err(EvalError(format!(
                "no server named `{server}` in this run; its servers: {}",
                names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
            )));
        };
        let mut v = obj;
        for (i, p) in path.iter().enumerate() {
            match v.get(p) {
                Some(next) => v = next,
                None => {
                    let here = if i == 0 { "a server".to_string() } else { format!("`{}`", path[..i].join(".")) };
                    let fields: Vec<String> = v
                        .as_object()
                        .map(|o| {
                            o.iter().filter(|(_, x)| x.is_number() || x.is_object()).map(|(k, _)| k.clone()).collect()
                        })
                        .unwrap_or_default();
                    return Err(EvalError(format!(
                        "{here} has no field `{p}`; its fields: {} (see docs/output-format.md)",
                        fields.join(", ")
                    )));
                }
            }
        }
        if v.is_null() {
            return Err(EvalError(format!("`{}` is null in this run (no value to compare)", path.join("."))));
        }
        v.as_f64().ok_or_else(|| EvalError(format!("`{}` is not a number but {v}", path.join("."))))
    }
}

impl Metrics for JsonMetrics<'_> {
    fn value(&self, metric: &MetricRef) -> Result<f64, EvalError> {
        if let Some(r) = &metric.run {
            return Err(EvalError(format!("`@{r}`: this claim can only read the run it belongs to")));
        }
        self.lookup(&metric.server, &metric.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Metrics for Fixed {
        fn value(&self, m: &MetricRef) -> Result<f64, EvalError> {
            match (m.server.as_str(), m.path.join(".").as_str()) {
                ("a", "x") => Ok(10.0),
                ("b c", "y.z") => Ok(4.0),
                _ => Err(EvalError(format!("unknown {m}"))),
            }
        }
    }

    fn holds(src: &str) -> bool {
        parse_claim(src).unwrap().check(&Fixed).unwrap().holds
    }

    #[test]
    fn arithmetic_follows_precedence() {
        // 10 - 4 * 2 / (1 + 1) = 10 - 4 = 6, worked by hand.
        assert_eq!(parse_expr("a.x - 'b c'.y.z * 2 / (1 + 1)").unwrap().eval(&Fixed).unwrap(), 6.0);
        assert_eq!(parse_expr("-a.x + 1_000").unwrap().eval(&Fixed).unwrap(), 990.0);
        assert_eq!(parse_expr("max(1, a.x, 3) + min(2, 5) + abs(-1) + sqrt(16)").unwrap().eval(&Fixed).unwrap(), 17.0);
    }

    #[test]
    fn comparisons_and_tolerances() {
        assert!(holds("a.x > 9.99"));
        assert!(!holds("a.x < 10"));
        assert!(holds("a.x <= 10 and a.x >= 10 and a.x == 10"));
        assert!(holds("a.x ~ 10.4 within 5%")); // 0.4 / 10.4 = 3.8%
        assert!(!holds("a.x ~ 11 within 5%")); // 1 / 11 = 9.1%
        assert!(holds("a.x ~ 12 within 2"));
        assert!(!holds("a.x ~ 12 within 1.9"));
        assert!(!holds("a.x > 1 and a.x > 11"));
    }

    #[test]
    fn erlang_c_matches_hand_values() {
        // M/M/1: P(wait) = rho. M/M/2 with a = 1: C = (a^2/2 / (1 - a/2)) / (1 + a + a^2/2/(1 - a/2))
        // = (0.5 / 0.5) / (1 + 1 + 1) = 1/3.
        assert!((erlang_c(1.0, 0.7) - 0.7).abs() < 1e-12);
        assert!((erlang_c(2.0, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(erlang_c(3.0, 3.0), 1.0);
    }

    #[test]
    fn bad_claims_say_what_is_allowed() {
        let e = parse_claim("a.x ~ 3").unwrap_err();
        assert!(e.message.contains("within"), "{e}");
        let e = parse_claim("a.x > 3 within 5%").unwrap_err();
        assert!(e.message.contains("`~` only"), "{e}");
        let e = parse_claim("a > 3").unwrap_err();
        assert!(e.message.contains("needs a field"), "{e}");
        let e = parse_claim("foo(1) > 3").unwrap_err();
        assert!(e.message.contains("erlang_c"), "{e}");
        let e = parse_claim("a.x > 3 #").unwrap_err();
        assert_eq!(e.at, 8);
        let e = parse_claim("a.x 3").unwrap_err();
        assert!(e.message.contains("comparison"), "{e}");
        assert!(parse_claim("").is_err());
        assert!(parse_claim("'unclosed.x > 1").is_err());
        let e = parse_expr("1 / (a.x - 10)").unwrap().eval(&Fixed).unwrap_err();
        assert!(e.0.contains("division by zero"), "{e}");
    }

    #[test]
    fn json_lookup_names_what_exists() {
        let servers = vec![serde_json::json!({"name": "t", "latency_ms": {"p99": 12.5}, "capacity_rps": null})];
        let m = JsonMetrics { servers: &servers };
        assert_eq!(m.lookup("t", &["latency_ms".into(), "p99".into()]).unwrap(), 12.5);
        assert!(m.lookup("u", &["x".into()]).unwrap_err().0.contains("'t'"));
        assert!(m.lookup("t", &["latency_ms".into(), "p98".into()]).unwrap_err().0.contains("p99"));
        assert!(m.lookup("t", &["capacity_rps".into()]).unwrap_err().0.contains("null"));
    }

    #[test]
    fn show_keeps_four_significant_digits() {
        assert_eq!(show(181.8181), "181.8");
        assert_eq!(show(0.012345), "0.01235");
        assert_eq!(show(25000.0), "25000");
        assert_eq!(show(2.0), "2");
    }
}
