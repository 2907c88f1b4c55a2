//! Command-line arguments.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Bayesian deep learning with auditable priors.
#[derive(Debug, Parser)]
#[command(name = "credence", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fit MLE and MAP on the bundled Boston housing data and compare them.
    Demo(DemoArgs),
    /// Train a model on a data file and save it to a folder.
    Fit(FitArgs),
    /// Write predictions of a saved model for a data file as CSV.
    Predict(PredictArgs),
    /// Score a saved model on a data file with a target column.
    Evaluate(EvaluateArgs),
    /// Benchmarks: the UCI regression protocol.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// Output options shared by commands.
#[derive(Debug, Args, Clone, Copy)]
pub struct OutputArgs {
    /// Print results as JSON (the last line of stdout is one JSON object); no progress bar.
    #[arg(long)]
    pub json: bool,
    /// No progress bar and no informational messages.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `credence demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// Training data: CSV with a header, or whitespace-separated columns.
    #[arg(long)]
    pub data: PathBuf,
    /// Target column (name, or 0-based index).
    #[arg(long)]
    pub target: String,
    /// Feature columns, comma-separated (default: every other column).
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Config file (TOML): model, training and priors with provenance.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Inference method (overrides the config's `method`): mle, map, laplace.
    #[arg(long)]
    pub method: Option<String>,
    /// Likelihood family (overrides the config): gaussian, heteroscedastic, student-t, bernoulli, categorical, poisson.
    #[arg(long)]
    pub likelihood: Option<String>,
    /// Seed (overrides the config's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Folder to write the fitted model into.
    #[arg(long)]
    pub out: PathBuf,
    /// Laplace settings (override the config's `[inference]` table).
    #[command(flatten)]
    pub laplace: LaplaceArgs,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Folder written by `credence fit`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data to predict (must contain the model's feature columns).
    #[arg(long)]
    pub data: PathBuf,
    /// Output CSV (default: stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed for methods that sample at prediction time.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `credence evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Folder written by `credence fit`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data with the model's feature columns and its target column.
    #[arg(long)]
    pub data: PathBuf,
    /// Seed for methods that sample at prediction time.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Run the UCI regression protocol on a dataset folder (data.txt, index_*.txt).
    Uci(UciArgs),
}

/// `credence bench uci`.
#[derive(Debug, Args)]
pub struct UciArgs {
    /// Dataset folder in the UCI benchmark format.
    pub dir: PathBuf,
    /// Inference method.
    #[arg(long, default_value = "map")]
    pub method: String,
    /// Number of splits (default: all).
    #[arg(long)]
    pub splits: Option<usize>,
    /// Config file (model, training, priors).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Laplace settings (override the config's `[inference]` table).
    #[command(flatten)]
    pub laplace: LaplaceArgs,
    /// Published results CSV to show beside ours (default: published_results.csv beside DIR, if any).
    #[arg(long)]
    pub published: Option<PathBuf>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Laplace options; each overrides the same key of the config's `[inference]` table.
#[derive(Debug, Args, Clone, Default)]
pub struct LaplaceArgs {
    /// Laplace: weights covered by the Gaussian: all, last-layer.
    #[arg(long)]
    pub subset: Option<String>,
    /// Laplace: Hessian structure: diag, kfac, full.
    #[arg(long)]
    pub hessian: Option<String>,
    /// Laplace: curvature: ggn (generalised Gauss-Newton), ef (empirical Fisher).
    #[arg(long)]
    pub curvature: Option<String>,
    /// Laplace: predictive: glm (linearised, closed form / probit), mc (weight samples).
    #[arg(long)]
    pub predictive: Option<String>,
    /// Laplace: evidence tuning of prior precision and noise: post-hoc, none.
    #[arg(long)]
    pub tune: Option<String>,
    /// Laplace: tuned prior precisions: global, layer.
    #[arg(long)]
    pub prior_groups: Option<String>,
}

impl LaplaceArgs {
    /// Writes the given options into an `[inference]` table.
    pub fn apply(&self, table: &mut toml::Table) {
        for (k, v) in [
            ("subset", &self.subset),
            ("hessian", &self.hessian),
            ("curvature", &self.curvature),
            ("predictive", &self.predictive),
            ("tune", &self.tune),
            ("prior_groups", &self.prior_groups),
        ] {
            if let Some(v) = v {
                table.insert(k.into(), toml::Value::String(v.clone()));
            }
        }
    }
}
