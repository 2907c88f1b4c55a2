//! Data: reading tables (CSV, whitespace), validation, standardisation and splits.
//! First stop of the flow: data file → `Table` → `Dataset` → model.

mod dataset;
mod read;
mod split;
mod standardize;
mod table;
pub mod uci;

pub use dataset::{Dataset, Task};
pub use read::{parse_csv, parse_whitespace, read_csv, read_table, read_whitespace};
pub use split::{stratified_split, subsample_to_share, train_test_split};
pub use standardize::{ConstantColumn, Standardizer};
pub use table::Table;
