//! The class-prior file of `--class-prior FILE`: parsed against a classifier's classes and
//! used to re-weight its predictive.
#![no_main]

use credence::predict::class_prior::{adjust, describe_used};
use credence::predict::ClassPrior;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pred, classes, prevalence) = credence_fuzz::fixture_class_predictive();
    let Ok(prior) = ClassPrior::parse("fuzz.toml", &text, classes) else {
        return;
    };
    let _ = prior.describe();
    let _ = describe_used(Some(&prior), classes, Some(prevalence));
    let _ = adjust(pred, prevalence, &prior);
});
