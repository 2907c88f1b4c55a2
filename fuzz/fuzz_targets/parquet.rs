//! The Parquet reader (it reads a path: the input is written to a temporary file first) and
//! what a table goes through next.
#![no_main]

use credence::data::parquet::read_parquet;
use credence::data::ReadOptions;
use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = tempfile::Builder::new().suffix(".parquet").tempfile() else {
        return;
    };
    if file.write_all(data).is_err() {
        return;
    }
    if let Ok(table) = read_parquet(file.path(), &ReadOptions::default()) {
        credence_fuzz::exercise_table(&table);
    }
});
