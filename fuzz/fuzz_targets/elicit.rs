//! The past-data file of `credence elicit --from-data FILE --column C`: one numeric column,
//! turned into a prior for every family, for the mean and for a future value.
#![no_main]

use credence::data::{parse_csv, ReadOptions};
use credence::elicit::{from_past_data, Family, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(table) = parse_csv("fuzz.csv", &text, &ReadOptions::default()) else {
        return;
    };
    let Some(name) = table.names.first().cloned() else {
        return;
    };
    let Ok(past) = credence::elicit::column_of(&table, &name) else {
        return;
    };
    for family in Family::ALL {
        for target in [Target::Mean, Target::Value] {
            for weight in [None, Some(0.5)] {
                let _ = from_past_data(family, &past, None, weight, target);
            }
        }
        let _ = from_past_data(family, &past, Some(4.0), None, Target::Value);
    }
});
