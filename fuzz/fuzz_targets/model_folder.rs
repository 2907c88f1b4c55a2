//! A model folder as `credence predict --model DIR` loads it: the input is model.json and
//! posterior.safetensors (the first two bytes, little-endian, give model.json's length), both
//! written to a temporary folder, loaded and, when they load, used to predict.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = usize::from(u16::from_le_bytes([data[0], data[1]])).min(data.len() - 2);
    let (record, tensors) = data[2..].split_at(n);
    credence_fuzz::load_and_predict(record, tensors);
});
