//! The HTML report: one self-contained file (inline CSS and SVG, no network fetches) that shows
//! what a person would rather see than read: priors and provenance, prior vs posterior
//! predictive, the predictive band split into epistemic and aleatoric parts, calibration,
//! information per layer, training traces and diagnostics, the MLE/MAP comparison, decisions.

mod calibrated;
mod html;
mod sections;
mod shift;
mod study;

pub use sections::{build, build_calibrated, ReportInput, SECTION_IDS};
pub use shift::shift_page;
