//! libFuzzer target: arbitrary bytes through the access-log parser; see
//! `models::scenario::fuzz::exercise_log` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| models::scenario::fuzz::exercise_log(data));
