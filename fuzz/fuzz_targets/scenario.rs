//! libFuzzer target: arbitrary bytes through the scenario parser and validator (as a whole
//! scenario and as a `[server]` table); see `models::scenario::fuzz::exercise` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| models::scenario::fuzz::exercise(data));
