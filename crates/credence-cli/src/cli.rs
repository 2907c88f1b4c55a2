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
    /// Fit MLE, MAP and a Bayesian method on bundled Boston housing data, decide, and write a report.
    Demo(DemoArgs),
    /// Train a model on a data file and save it to a folder.
    Fit(FitArgs),
    /// Write predictions of a saved model for a data file as CSV.
    Predict(PredictArgs),
    /// Score a saved model on a data file with a target column.
    Evaluate(EvaluateArgs),
    /// Decide per row under a decision file of values (costs or losses), kept apart from the model's facts.
    Decide(DecideArgs),
    /// Write a self-contained HTML report (priors, predictive, calibration, comparison, decisions).
    Report(ReportArgs),
    /// Split a data file into seeded train and test files (stratified by a class column if asked).
    Split(SplitArgs),
    /// Benchmarks: the UCI regression protocol.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Bayes' rule in closed form for a conjugate model described in a TOML file.
    Bayes(BayesArgs),
    /// Prior predictive check: what networks drawn from the prior predict before seeing data.
    PriorCheck(PriorCheckArgs),
    /// Refit under alternative priors and report how test metrics and predictions move.
    Sensitivity(SensitivityArgs),
    /// Small-data learning curves on a UCI-format folder (test RMSE, LL, coverage vs rows).
    Curve(CurveArgs),
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
    /// Folder for the demo's report.
    #[arg(long, default_value = "credence-demo")]
    pub out: PathBuf,
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
    /// Inference method (overrides the config's `method`): mle, map, vi, mc-dropout, ensemble, anchored-ensemble.
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
    /// Out-of-distribution rows (the model's feature columns; a target is not needed): report how
    /// well the predictive's uncertainty separates them from the rows of --data (AUROC, AUPR).
    #[arg(long)]
    pub ood: Option<PathBuf>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Run the UCI regression protocol on a dataset folder (data.txt, index_*.txt).
    Uci(UciArgs),
    /// Time the full-batch gradient of the grad_bench task (small, big, boston; f64 and f32).
    Grad(GradArgs),
    /// Calibration and OOD detection on a classification CSV (seeded stratified split).
    Classify(ClassifyArgs),
}

/// `credence bench grad`.
#[derive(Debug, Args)]
pub struct GradArgs {
    /// bostonHousing folder in the UCI format (default: data/bostonHousing, if present).
    #[arg(long)]
    pub boston: Option<PathBuf>,
    /// Cases to run (comma-separated: small, big, boston).
    #[arg(long, default_value = "small,big,boston")]
    pub cases: String,
    /// Multiplies the number of timed gradients (1: the peer script's 3000 small, 200 big).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Timed repeats per case; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence bench classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// CSV with feature columns and an integer label column.
    #[arg(long)]
    pub data: PathBuf,
    /// Label column.
    #[arg(long, default_value = "label")]
    pub target: String,
    /// Methods, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "map,vi,mc-dropout,ensemble,anchored-ensemble"
    )]
    pub methods: Vec<String>,
    /// Share of the (in-distribution) rows held out for testing, stratified by class.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Classes with a label ≥ this are out of distribution: not trained on, scored for OOD detection.
    #[arg(long)]
    pub ood_from: Option<usize>,
    /// Config file (model, training, priors, inference settings).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Seed of the split and the fits.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence bench uci`.
#[derive(Debug, Args)]
pub struct UciArgs {
    /// Dataset folder in the UCI benchmark format.
    pub dir: PathBuf,
    /// Inference method: mle, map, vi, mc-dropout, ensemble, anchored-ensemble.
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
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence decide`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// Folder written by `credence fit`.
    #[arg(long)]
    pub model: PathBuf,
    /// Decision file (TOML) with value provenance: a cost matrix, weighted criteria, or a loss.
    #[arg(long)]
    pub decision: PathBuf,
    /// Rows to decide for (the model's feature columns).
    #[arg(long)]
    pub data: PathBuf,
    /// Alternative factual priors (TOML `[[alternative]]` entries with `[[alternative.prior]]` lists): refit and re-decide.
    #[arg(long)]
    pub alternatives_prior: Option<PathBuf>,
    /// Alternative value sets (TOML `[[alternative]]` entries, each a decision spec with a `name`): re-decide without refitting.
    #[arg(long)]
    pub alternatives_value: Option<PathBuf>,
    /// Write the per-row decisions as CSV here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence split`.
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// CSV data file with a header.
    #[arg(long)]
    pub data: PathBuf,
    /// Share of rows in the test file.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Class column to stratify by.
    #[arg(long)]
    pub stratify: Option<String>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Training rows go here.
    #[arg(long)]
    pub train: PathBuf,
    /// Test rows go here.
    #[arg(long)]
    pub test: PathBuf,
}

/// `credence report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Folder written by `credence fit`.
    #[arg(long)]
    pub model: PathBuf,
    /// Rows with the model's features and target, to evaluate on.
    #[arg(long)]
    pub data: PathBuf,
    /// The HTML file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// A decision file to include decisions.
    #[arg(long)]
    pub decision: Option<PathBuf>,
    /// Input column for the predictive band (default: the first feature).
    #[arg(long)]
    pub input: Option<String>,
    /// Skip refitting MLE and MAP for the comparison section.
    #[arg(long)]
    pub no_compare: bool,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `credence bayes`.
#[derive(Debug, Args)]
pub struct BayesArgs {
    /// Model file (TOML): `model = "beta-binomial" | ...`, `[prior]` with provenance, `[data]`.
    pub file: PathBuf,
    /// Write a prior / likelihood / posterior plot (SVG).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Data, target and config shared by the prior commands.
#[derive(Debug, Args)]
pub struct ModelDataArgs {
    /// Config file (TOML): model, training and priors with provenance.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data file: CSV with a header, or whitespace-separated columns.
    #[arg(long)]
    pub data: PathBuf,
    /// Target column (name, or 0-based index).
    #[arg(long)]
    pub target: String,
    /// Feature columns, comma-separated (default: every other column).
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `credence prior-check`.
#[derive(Debug, Args)]
pub struct PriorCheckArgs {
    /// Config, data, target.
    #[command(flatten)]
    pub model: ModelDataArgs,
    /// Number of networks drawn from the prior.
    #[arg(long, default_value_t = 200)]
    pub draws: usize,
    /// Input column for the band plot (default: the only feature, when there is one).
    #[arg(long)]
    pub input: Option<String>,
    /// Write a band plot of the prior predictive against the chosen input (SVG).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence sensitivity`.
#[derive(Debug, Args)]
pub struct SensitivityArgs {
    /// Config, data, target.
    #[command(flatten)]
    pub model: ModelDataArgs,
    /// Alternatives file (TOML): `[[alternative]]` entries with `name` and either `[[alternative.prior]]`
    /// or a transform (`scale = 0.1`, `family = "laplace"`).
    #[arg(long)]
    pub alternatives: PathBuf,
    /// Inference method.
    #[arg(long, default_value = "map")]
    pub method: String,
    /// Share of rows held out for testing (seeded split).
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence curve`.
#[derive(Debug, Args)]
pub struct CurveArgs {
    /// Dataset folder in the UCI benchmark format.
    pub dir: PathBuf,
    /// Methods, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "mle,map")]
    pub methods: Vec<String>,
    /// Training-set sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10,20,50,100,200")]
    pub sizes: Vec<usize>,
    /// Repeats per method and size (repeat r uses split r mod the number of splits).
    #[arg(long, default_value_t = 10)]
    pub repeats: usize,
    /// Config file (model, training, priors).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Write the curves (test LL, RMSE, coverage) as an SVG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}
