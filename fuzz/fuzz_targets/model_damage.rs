//! A real saved model, damaged: the input chooses one of the fixture models (fitted once per
//! process), which of its two files to damage, a length to truncate it to, and (offset, xor
//! mask) pairs to flip bits with; the folder is then loaded and, when it loads, used to predict.
//! `CREDENCE_FUZZ_SAVE_DAMAGED=DIR` writes the damaged folder to DIR (for a regression test).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 6 {
        return;
    }
    let fixtures = credence_fuzz::fixtures();
    let fixture = &fixtures[usize::from(data[0]) % fixtures.len()];
    let which = usize::from(data[1] % 2);
    let mut files = fixture.files.clone();
    let file = &mut files[which];
    let cut = u32::from_le_bytes([data[2], data[3], data[4], data[5]]) as usize;
    if cut < file.len() {
        file.truncate(cut);
    }
    for flip in data[6..].chunks_exact(5) {
        if file.is_empty() {
            break;
        }
        let at = u32::from_le_bytes([flip[0], flip[1], flip[2], flip[3]]) as usize % file.len();
        file[at] ^= flip[4];
    }
    // To turn a crash into a regression test: the damaged folder, written where asked.
    if let Ok(dir) = std::env::var("CREDENCE_FUZZ_SAVE_DAMAGED") {
        let dir = std::path::Path::new(&dir);
        let _ = std::fs::create_dir_all(dir);
        let _ = std::fs::write(dir.join(credence::artifact::RECORD_FILE), &files[0]);
        let _ = std::fs::write(dir.join(credence::artifact::TENSORS_FILE), &files[1]);
    }
    credence_fuzz::load_and_predict(&files[0], &files[1]);
});
