//! The TOML files Credence reads: a fit config with its `[[prior]]` blocks, a conjugate model
//! file (`credence explain bayes`, whose report is computed too) and a sensitivity
//! alternatives file.
#![no_main]

use credence::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(c) = Config::parse("fuzz.toml", &text) {
        let _ = credence::fit::prior_summary(c.priors.as_ref());
        if let Some(o) = &c.output_prior {
            let _ = o.describe();
        }
    }
    if let Ok(m) = credence::conjugate::ModelFile::parse("fuzz.toml", &text) {
        let _ = m.report();
    }
    let _ = credence::explain::sensitivity::Alternatives::parse("fuzz.toml", &text);
});
