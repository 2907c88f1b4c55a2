//! The NumPy `.npy` reader (`credence fit --data X.npy --labels y.npy`): the array, the image
//! table made from it (with the same array as labels when its shape allows) and what a table
//! goes through next.
#![no_main]

use credence::data::npy::{npy_table, parse_npy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(array) = parse_npy("fuzz.npy", data) else {
        return;
    };
    if let Ok(table) = npy_table(("fuzz.npy", &array), None, "label") {
        credence_fuzz::exercise_table(&table);
    }
    // The array as its own labels: reads when it is (N,) or (N, 1) with N rows of features.
    let _ = npy_table(("fuzz.npy", &array), Some(("fuzz.npy", &array)), "label");
});
