//! Explanations of what the prior does, downstream of fitting: learning curves on small data,
//! prior predictive checks and prior sensitivity.

pub mod curve;

pub use curve::{learning_curve, Curve, CurveOptions, CurvePoint, CurveRun};
