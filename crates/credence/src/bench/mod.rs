//! Benchmarks that ship with the library (the CLI's `credence bench …` is a thin shell over them).

pub mod cnn;
pub mod grad;
pub mod shift;
