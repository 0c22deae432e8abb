//! The body of the scenario fuzz target (`fuzz/fuzz_targets/scenario.rs`), kept here so the
//! ordinary test suite runs it over the examples, the presets and mutations of them: any bytes
//! must give either a scenario or located problems — never a panic — and a parsed scenario must
//! survive writing and re-reading unchanged and start simulating.

use super::{ScenarioError, parse, parse_server, to_toml};

/// Feed untrusted bytes through the parser and validator (as a whole scenario and as one
/// `[server]` table); panics only when an invariant is broken, which is what the fuzzer looks for.
pub fn exercise(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // A scenario may name an access log to read; the fuzzer must not wander the file system
    // (`exercise_log` fuzzes the log parser itself).
    if text.contains("log_file") {
        return;
    }
    match parse(text, "fuzz.toml") {
        Ok(sc) => {
            // Writing and re-reading gives the same scenario (compared through its text form).
            let written = to_toml(&sc);
            let again = parse(&written, "written.toml")
                .unwrap_or_else(|e| panic!("a written scenario does not parse: {e}\n{written}"));
            // (Comments such as "# started from preset" are not data: the preset's values are
            // written out, so the re-read scenario no longer names it.)
            let data = |t: &str| t.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
            assert_eq!(data(&to_toml(&again)), data(&written), "writing is not stable");
            // Every server builds and runs a few thousand events (small pools only, so each
            // input stays fast).
            for (i, s) in sc.servers.iter().enumerate() {
                if u64::from(s.processes) * u64::from(s.threads) <= 10_000 {
                    let mut sim = crate::architectures::simulation(&sc, i, 0, true);
                    sim.run_until_limited(sc.run.end_s(), 5_000);
                }
            }
        }
        Err(e) => check_error(&e),
    }
    if let Err(e) = parse_server(text, "fuzz.toml") {
        check_error(&e);
    }
}

/// Feed untrusted bytes through the access-log parser: every non-blank line is used or counted
/// as skipped, the arrival times are finite, ascending and start within the first second, and
/// at most `access_log::EXAMPLES` examples are kept, each naming a real line.
pub fn exercise_log(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    // Asking for response times only skips more lines: the same invariants, and the times are
    // finite, non-negative and one per arrival.
    let timed = super::access_log::parse_log(&text, true);
    assert_eq!(timed.response_times.len(), timed.times_s.len());
    assert!(timed.response_times.iter().all(|r| r.is_finite() && *r >= 0.0));
    let parsed = super::access_log::parse_log(&text, false);
    assert!(timed.malformed >= parsed.malformed);
    let non_blank = text.lines().filter(|l| !l.trim().is_empty()).count() as u64;
    assert_eq!(parsed.lines, non_blank);
    assert_eq!(parsed.times_s.len() as u64 + parsed.malformed, parsed.lines);
    assert!(parsed.examples.len() <= super::access_log::EXAMPLES);
    assert!(parsed.examples.iter().all(|(line, why)| *line >= 1 && !why.is_empty()));
    assert!(parsed.times_s.windows(2).all(|w| w[0] <= w[1]), "times out of order");
    assert!(parsed.times_s.iter().all(|t| t.is_finite() && *t > 0.0));
    if let Some(first) = parsed.times_s.first() {
        assert!(*first < 1.0);
    }
}

fn check_error(e: &ScenarioError) {
    let text = e.to_string();
    assert!(text.contains("fuzz.toml"), "an error that does not name the file: {text}");
    if let ScenarioError::Invalid(problems) = e {
        assert!(!problems.is_empty(), "an invalid scenario with no problem");
        for p in problems {
            assert!(p.line >= 1 && p.column >= 1 && !p.message.is_empty(), "{p}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Log lines, good and damaged, through the log parser's fuzz body.
    #[test]
    fn access_log_lines_and_their_mutations_never_panic() {
        let good = "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326\n\
                    10.0.0.2 - - [31/Dec/1999:23:59:59 +1400] \"GET / HTTP/1.1\" 200 512 \"-\" \"curl/8\"\n";
        let bytes = good.as_bytes();
        exercise_log(bytes);
        for cut in 0..bytes.len() {
            exercise_log(&bytes[..cut]);
            let mut b = bytes.to_vec();
            b[cut] = b[cut].wrapping_add(1);
            exercise_log(&b);
        }
        exercise_log(&[0xff, b'[', 0xfe, b']']);
    }

    /// Every example and preset, whole and cut short at many points, and with bytes flipped.
    #[test]
    fn examples_presets_and_their_mutations_never_panic() {
        let mut inputs: Vec<String> = vec![super::super::DEFAULT_SCENARIO.to_string()];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        for entry in std::fs::read_dir(&dir).expect("scenarios folder") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|x| x == "toml") {
                inputs.push(std::fs::read_to_string(path).expect("readable"));
            }
        }
        inputs.extend(
            super::super::presets::preset_names().filter_map(super::super::presets::preset_text).map(String::from),
        );
        assert!(inputs.len() >= 20, "{}", inputs.len());
        for text in &inputs {
            let bytes = text.as_bytes();
            exercise(bytes);
            for cut in (0..bytes.len()).step_by(37) {
                exercise(&bytes[..cut]);
            }
            for at in (0..bytes.len()).step_by(53) {
                let mut b = bytes.to_vec();
                b[at] = match b[at] {
                    b'0'..=b'8' => b[at] + 1,
                    b'=' => b'[',
                    b'"' => b'\'',
                    b'\n' => b' ',
                    _ => b'-',
                };
                exercise(&b);
            }
        }
    }
}
