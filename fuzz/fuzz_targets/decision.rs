//! The decision (value) file of `credence decide`: parsed, matched to a classifier's classes,
//! and used to decide on that classifier's and a regression's predictive.
#![no_main]

use credence::decide::{decide, DecisionSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(spec) = DecisionSpec::parse("fuzz.toml", &text) else {
        return;
    };
    let _ = spec.matrix();
    let _ = decide(credence_fuzz::fixture_regression_predictive(), &spec, 0);
    let (pred, classes, _) = credence_fuzz::fixture_class_predictive();
    let mut spec = spec;
    if spec.align_classes(classes).is_ok() {
        let _ = spec.matrix();
        if let Ok(d) = decide(pred, &spec, 0) {
            let _ = credence::decide::DecisionSummary::of(&d);
        }
    }
});
