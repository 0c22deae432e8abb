//! Reading a web server's access log (Common or Combined Log Format, as Apache and nginx write
//! it) into arrival times, so a scenario can replay real traffic: `arrival = "log"`. Lines that
//! cannot be used are counted and a few are kept as examples for the report; only a log with no
//! usable line at all is an error.

/// What a log yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedLog {
    /// Arrival times in seconds from the first request's second, ascending.
    pub times_s: Vec<f64>,
    /// The requested path of each arrival, in the order of `times_s`.
    pub paths: Vec<String>,
    /// With `response_times`: the number ending each arrival's line (its response time, in the
    /// log's own unit), in the order of `times_s`; empty otherwise.
    pub response_times: Vec<f64>,
    /// Non-blank lines read.
    pub lines: u64,
    /// Lines that could not be used (skipped).
    pub malformed: u64,
    /// The first few skipped lines: (line number, why).
    pub examples: Vec<(u64, String)>,
}

/// How many skipped lines are kept as examples.
pub const EXAMPLES: usize = 5;

/// Parse an access log. Each usable line is one arrival at its `[timestamp]`, which has
/// one-second resolution: the requests logged in the same second are spread evenly across it
/// (the k-th of n at k + ½ over n of the second), after sorting by second, since servers log at
/// completion and lines can be slightly out of order. With `response_times`, a line must also
/// end in a number after its status and size — the response time a format such as Apache's
/// `%D` or nginx's `$request_time` appends — or it is skipped.
pub fn parse_log(text: &str, response_times: bool) -> ParsedLog {
    let mut out = ParsedLog::default();
    let mut seconds: Vec<(i64, String, f64)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.lines += 1;
        match parse_line(line, response_times) {
            Ok(t) => seconds.push(t),
            Err(why) => {
                out.malformed += 1;
                if out.examples.len() < EXAMPLES {
                    out.examples.push((i as u64 + 1, why.to_string()));
                }
            }
        }
    }
    // Stable: within a second the lines keep their order (and their paths with them).
    seconds.sort_by_key(|(s, _, _)| *s);
    let Some(first) = seconds.first().map(|(s, _, _)| *s) else { return out };
    let mut k = 0;
    while k < seconds.len() {
        let same = seconds[k..].iter().take_while(|(s, _, _)| *s == seconds[k].0).count();
        let base = (seconds[k].0 - first) as f64;
        out.times_s.extend((0..same).map(|j| base + (j as f64 + 0.5) / same as f64));
        k += same;
    }
    if response_times {
        out.response_times = seconds.iter().map(|(_, _, r)| *r).collect();
    }
    out.paths = seconds.into_iter().map(|(_, path, _)| path).collect();
    out
}

/// Why a line has no response time (`parse_log` with `response_times`).
pub const NO_RESPONSE_TIME: &str = "no response time: the line does not end in a number after its status and size";

/// One line's timestamp in seconds since 1970 (UTC), requested path and (with
/// `response_time`, else 0) the number ending it, or why the line is unusable.
fn parse_line(line: &str, response_time: bool) -> Result<(i64, String, f64), &'static str> {
    let open = line.find('[').ok_or("no [timestamp]")?;
    let close = line[open..].find(']').ok_or("no closing ] after the timestamp")? + open;
    let t = parse_timestamp(&line[open + 1..close]).ok_or("timestamp not like [10/Oct/2000:13:55:36 -0700]")?;
    let rest = &line[close + 1..];
    let q = rest.find('"').ok_or("no quoted request (\"GET /path HTTP/1.1\") after the timestamp")?;
    let end = rest[q + 1..].find('"').ok_or("unterminated quoted request")?;
    let request = rest[q + 1..q + 1 + end].trim();
    if request.is_empty() {
        return Err("empty request");
    }
    // "GET /path HTTP/1.1": the second word (the whole request if it has one word).
    let path = request.split_whitespace().nth(1).unwrap_or(request).to_string();
    let time = if response_time { last_number(&rest[q + 1 + end + 1..]).ok_or(NO_RESPONSE_TIME)? } else { 0.0 };
    Ok((t, path, time))
}

/// The last field of what follows a line's quoted request — `200 2326 "referer" "agent" 1534` —
/// if it is an unquoted finite number ≥ 0 and comes after at least the status and the size.
fn last_number(after_request: &str) -> Option<f64> {
    let mut fields = Vec::new();
    let mut rest = after_request.trim_start();
    while !rest.is_empty() {
        let (field, next) = if let Some(quoted) = rest.strip_prefix('"') {
            // A quoted field ends at the next quote not escaped by a backslash.
            let mut end = None;
            let mut escaped = false;
            for (i, c) in quoted.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = Some(i);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let end = end?;
            (None, &quoted[end + 1..])
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            (Some(&rest[..end]), &rest[end..])
        };
        fields.push(field);
        rest = next.trim_start();
    }
    if fields.len() < 3 {
        return None;
    }
    fields.last()?.and_then(|f| f.parse::<f64>().ok()).filter(|v| v.is_finite() && *v >= 0.0)
}

/// `10/Oct/2000:13:55:36 -0700` as seconds since 1970-01-01T00:00:00Z.
fn parse_timestamp(s: &str) -> Option<i64> {
    let (date_time, zone) = s.trim().split_once(' ')?;
    let mut parts = date_time.splitn(4, ':');
    let date = parts.next()?;
    let (h, m, sec) = (num(parts.next()?, 0..=23)?, num(parts.next()?, 0..=59)?, num(parts.next()?, 0..=60)?);
    let mut d = date.splitn(3, '/');
    let day = num(d.next()?, 1..=31)?;
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month_name = d.next()?;
    let month = MONTHS.iter().position(|&m| m == month_name)? as i64 + 1;
    let year = num(d.next()?, 1970..=9999)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if day > days_in_month[month as usize - 1] {
        return None;
    }
    let zone = zone.trim();
    if !zone.is_ascii() {
        return None; // (found by the fuzzer: slicing "+0\u{fffd}" at byte 3 panicked)
    }
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    if zone.len() != 5 {
        return None;
    }
    let offset = sign * (num(&zone[1..3], 0..=23)? * 3600 + num(&zone[3..5], 0..=59)? * 60);
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec - offset)
}

fn num(s: &str, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|v| range.contains(v))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_known_epoch_seconds() {
        // 2000-10-10T20:55:36Z = 971211336 (the Apache documentation's example line, -0700).
        assert_eq!(parse_timestamp("10/Oct/2000:13:55:36 -0700"), Some(971_211_336));
        assert_eq!(parse_timestamp("01/Jan/1970:00:00:00 +0000"), Some(0));
        // 2024-02-29 (a leap day) 12:00:00 +0100 is 11:00:00Z = 1709204400.
        assert_eq!(parse_timestamp("29/Feb/2024:12:00:00 +0100"), Some(1_709_208_000 - 3600));
        for bad in [
            "10/Oct/2000:13:55:36",
            "32/Oct/2000:13:55:36 +0000",
            "10/Foo/2000:13:55:36 +0000",
            "",
            " ",
            "10/Oct/2000:13:55:36 +0\u{fffd}",
            "31/Feb/2024:00:00:00 +0000",
            "29/Feb/2023:00:00:00 +0000",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_log_becomes_arrivals_and_bad_lines_are_counted() {
        let log = "\
127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326
10.0.0.2 - - [10/Oct/2000:13:55:36 -0700] \"GET /index.html HTTP/1.1\" 200 512 \"-\" \"curl/8\"

garbage line
10.0.0.3 - - [10/Oct/2000:13:55:38 -0700] \"POST /api HTTP/1.1\" 201 17
10.0.0.4 - - [10/Oct/2000:13:55:37 -0700] \"GET / HTTP/1.1\" 200 1
10.0.0.5 - - [10/Oct/2000:13:55:37 -0700] no request here
";
        let p = parse_log(log, false);
        assert_eq!((p.lines, p.malformed), (6, 2));
        assert_eq!(p.examples.iter().map(|e| e.0).collect::<Vec<_>>(), vec![4, 7]);
        // Two requests in second 0 (at 0.25 and 0.75), one in second 1 (1.5), one in 2 (2.5);
        // the out-of-order line is sorted into place.
        assert_eq!(p.times_s, vec![0.25, 0.75, 1.5, 2.5]);
    }

    #[test]
    fn a_response_time_is_the_number_ending_a_line_after_status_and_size() {
        let log = "\
10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 2326 1534
10.0.0.2 - - [10/Oct/2000:13:55:36 -0700] \"GET /b HTTP/1.1\" 200 512 \"-\" \"curl/8 \\\"x\\\"\" 0.250
10.0.0.3 - - [10/Oct/2000:13:55:37 -0700] \"GET /c HTTP/1.1\" 200 512 \"-\" \"curl/8\"
10.0.0.4 - - [10/Oct/2000:13:55:37 -0700] \"GET /d HTTP/1.1\" 200 17
10.0.0.5 - - [10/Oct/2000:13:55:37 -0700] \"GET /e HTTP/1.1\" 200 17 -3
";
        let p = parse_log(log, true);
        // Combined format without a time ends in the quoted agent; Common ends in the size; a
        // negative time is no time.
        assert_eq!((p.lines, p.malformed), (5, 3));
        assert_eq!(p.examples.iter().map(|e| e.0).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert!(p.examples.iter().all(|e| e.1 == NO_RESPONSE_TIME));
        assert_eq!(p.paths, ["/a", "/b"]);
        assert_eq!(p.response_times, [1534.0, 0.25]);
        // Without asking, the same log is five arrivals and no times.
        let all = parse_log(log, false);
        assert_eq!((all.times_s.len(), all.response_times.len()), (5, 0));
    }
}
