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
    /// Inference method (overrides the config's `method`): mle, map, nuts, hmc, sgld, sghmc.
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
    /// Sampler settings (nuts, hmc, sgld, sghmc).
    #[command(flatten)]
    pub sampler: SamplerArgs,
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
    /// NUTS sampling efficiency (ESS per second) on one UCI split, optionally beside NumPyro.
    Nuts(NutsBenchArgs),
}

/// `credence bench nuts`.
#[derive(Debug, Args)]
pub struct NutsBenchArgs {
    /// Dataset folder in the UCI benchmark format (e.g. …/data/uci/bostonHousing).
    pub dir: PathBuf,
    /// Split index.
    #[arg(long, default_value_t = 0)]
    pub split: usize,
    /// Seeds, comma-separated; one run per seed.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    pub seeds: Vec<u64>,
    /// Test points at which the ESS of the predictive mean is measured.
    #[arg(long, default_value_t = 5)]
    pub test_points: usize,
    /// Config file (model, priors); default: the UCI network with Credence's default priors.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Python with jax and numpyro: also run NumPyro NUTS on the same split and seeds.
    #[arg(long)]
    pub numpyro_python: Option<PathBuf>,
    /// Folder of the peers' uci.py (for --numpyro-python).
    #[arg(long)]
    pub peers: Option<PathBuf>,
    /// The NumPyro driver script (default: bench/nuts_numpyro_draws.py in this repository).
    #[arg(long, default_value = "bench/nuts_numpyro_draws.py")]
    pub numpyro_script: PathBuf,
    /// Sampler settings (defaults here: 1 chain, 500 warm-up, 500 draws, as NumPyro's run).
    #[command(flatten)]
    pub sampler: SamplerArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
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
    /// Published results CSV to show beside ours (default: published_results.csv beside DIR, if any).
    #[arg(long)]
    pub published: Option<PathBuf>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sampler settings (nuts, hmc, sgld, sghmc).
    #[command(flatten)]
    pub sampler: SamplerArgs,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Sampler settings given on the command line; each overrides the config's `[inference]` key
/// of the same name.
#[derive(Debug, Args, Clone, Default)]
pub struct SamplerArgs {
    /// Chains run in parallel (default 4).
    #[arg(long)]
    pub chains: Option<usize>,
    /// Warm-up iterations per chain (NUTS/HMC; default 1000).
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Draws kept per chain (NUTS/HMC; default 1000).
    #[arg(long)]
    pub draws: Option<usize>,
    /// Keep every n-th iteration (NUTS/HMC) or epoch (SGLD/SGHMC).
    #[arg(long)]
    pub thin: Option<usize>,
    /// Target acceptance of the step-size adaptation (default 0.8).
    #[arg(long)]
    pub target_accept: Option<f64>,
    /// Maximum NUTS tree depth (default 10).
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Leapfrog steps per HMC iteration (default 32).
    #[arg(long)]
    pub hmc_steps: Option<usize>,
    /// Chain initialisation: map (a MAP fit per chain, default) or random.
    #[arg(long)]
    pub init: Option<String>,
    /// SGLD/SGHMC passes over the data (default 1000).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// SGLD/SGHMC step-size schedule: constant or cyclical.
    #[arg(long)]
    pub schedule: Option<String>,
}

impl SamplerArgs {
    /// Writes the given settings into an `[inference]` table.
    pub fn apply(&self, t: &mut toml::Table) {
        let mut int = |k: &str, v: Option<usize>| {
            if let Some(v) = v {
                t.insert(k.into(), toml::Value::Integer(v as i64));
            }
        };
        int("chains", self.chains);
        int("warmup", self.warmup);
        int("draws", self.draws);
        int("thin", self.thin);
        int("max_depth", self.max_depth);
        int("hmc_steps", self.hmc_steps);
        int("epochs", self.epochs);
        if let Some(v) = self.target_accept {
            t.insert("target_accept".into(), toml::Value::Float(v));
        }
        for (k, v) in [("init", &self.init), ("schedule", &self.schedule)] {
            if let Some(v) = v {
                t.insert(k.into(), toml::Value::String(v.clone()));
            }
        }
    }
}
