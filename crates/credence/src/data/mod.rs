//! Data: reading typed tables (CSV, whitespace, Parquet, NumPy .npy), the schema that encodes them,
//! validation, standardisation and splits.
//! First stop of the flow: data file → `Table` → `Dataset` → model.

mod caveats;
mod dataset;
mod guard;
pub mod image;
pub mod npy;
pub mod parquet;
mod read;
pub mod schema;
mod split;
pub(crate) mod standardize;
mod table;
pub mod uci;

pub use dataset::{Dataset, Task};
pub use read::{
    is_parquet, parse_csv, parse_whitespace, read_csv, read_table, read_whitespace, typed_column,
    ReadOptions,
};
pub use schema::{MissingPolicy, Schema, SchemaOptions, UnknownLevel};
pub use split::{stratified_split, subsample_to_share, train_test_split};
pub use standardize::{ConstantColumn, Standardizer};
pub use table::{Column, Table};
