//! The whitespace-separated reader (UCI `data.txt`) and what a table goes through next.
#![no_main]

use credence::data::{parse_whitespace, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(table) = parse_whitespace("fuzz.txt", &text, &ReadOptions::default()) {
        credence_fuzz::exercise_table(&table);
    }
});
