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
// Parsed once per run: the size of the largest variant (fit's flags) costs nothing.
#[allow(clippy::large_enum_variant)]
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
    /// Elicit a prior from what people know (quantiles, mean and sd, mode and range) or from past data; writes a [[prior]] block.
    Elicit(ElicitArgs),
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
    /// Rows in each small training set (drawn from split 0's training rows).
    #[arg(long, default_value_t = 40)]
    pub small_rows: usize,
    /// Seeded small training sets.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Methods, comma-separated; the last one decides and is reported (MLE first is the baseline).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "mle,map,laplace,ensemble,nuts"
    )]
    pub methods: Vec<String>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// Training data: CSV with a header, Parquet (.parquet), NumPy (.npy, N×D, N×H×W or N×C×H×W, with --labels), or whitespace-separated columns.
    #[arg(long)]
    pub data: PathBuf,
    /// Columns: target(s), features, dropped, categorical; missing values.
    #[command(flatten)]
    pub columns: ColumnArgs,
    /// Config file (TOML): model, training and priors with provenance.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Inference method (overrides the config's `method`): mle, map, laplace, vi, mc-dropout, ensemble, anchored-ensemble, nuts, hmc, sgld, sghmc, swag, multiswag.
    #[arg(long)]
    pub method: Option<String>,
    /// Likelihood family (overrides the config): gaussian, heteroscedastic, student-t, bernoulli, categorical, poisson.
    #[arg(long)]
    pub likelihood: Option<String>,
    /// Seed (overrides the config's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Folder to write the fitted model into (replaced whole if it holds a model).
    #[arg(long)]
    pub out: PathBuf,
    /// Memory the fit may use, e.g. 4G or 512M (default: the config's max_memory, else what the machine has available); a larger fit is refused before it starts.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// Use a saved model's posterior as the prior (per-parameter Normals; same network and features).
    #[arg(long, value_name = "MODEL_DIR")]
    pub prior_from: Option<PathBuf>,
    /// Multiply the transferred prior's variances by K (tempering; 1 = exact sequential updating).
    #[arg(long, value_name = "K", default_value_t = 1.0, requires = "prior_from")]
    pub prior_from_scale: f64,
    /// Noise prior with --prior-from: match (Gamma on the precision from the source: moment-matched to its draws of σ, or its noise posterior given a point σ) or keep (the config's or default).
    #[arg(long, default_value = "match", requires = "prior_from")]
    pub prior_from_noise: String,
    /// Sampler settings (nuts, hmc, sgld, sghmc).
    #[command(flatten)]
    pub sampler: SamplerArgs,
    /// Laplace settings (override the config's `[inference]` table).
    #[command(flatten)]
    pub laplace: LaplaceArgs,
    /// Post-hoc calibration.
    #[command(flatten)]
    pub calibration: CalibrationArgs,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Post-hoc calibration of a fit on held-out rows (stored as calibration.json with the model).
#[derive(Debug, Args, Clone)]
pub struct CalibrationArgs {
    /// Calibrate on held-out rows: conformal (intervals/sets with a coverage guarantee), temperature (classifiers) or both, comma-separated.
    #[arg(long, value_name = "conformal|temperature")]
    pub calibrate: Option<String>,
    /// Share of the training rows held out (seeded) for --calibrate; the model is fitted on the rest.
    #[arg(long, default_value_t = 0.2, requires = "calibrate")]
    pub calibration_fraction: f64,
    /// Calibration rows from a separate table with the training data's columns (instead of holding rows out).
    #[arg(long, value_name = "FILE", requires = "calibrate")]
    pub calibration: Option<PathBuf>,
    /// Conformity score of a regression: normalized (|y − μ|/σ, default), absolute or cqr.
    #[arg(long, default_value = "normalized", requires = "calibrate")]
    pub conformal_score: String,
}

/// How the columns of a training table are chosen and read.
#[derive(Debug, Args, Clone)]
pub struct ColumnArgs {
    /// Target column(s) (name, or 0-based index); several, comma-separated, fit one output each.
    #[arg(long, value_delimiter = ',', required = true)]
    pub target: Vec<String>,
    /// Feature columns, comma-separated (default: every other column, less --drop and identifier-like text columns).
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Columns never used as features, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub drop: Vec<String>,
    /// Numeric columns to treat as categorical (one-hot), comma-separated; text columns always are.
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Missing feature cells: error (name them), drop (drop such rows) or impute (training mean plus a was-missing column; a missing level for text).
    #[arg(long, default_value = "error")]
    pub missing: String,
    /// Cell texts read as missing, comma-separated (default: empty, NA, N/A, NaN, nan, null, NULL, None, ?).
    #[arg(long, value_delimiter = ',')]
    pub na_values: Option<Vec<String>>,
    /// Labels of a NumPy features file (--data X.npy): a .npy of shape (N,) or (N, 1), read into the --target column.
    #[arg(long, value_name = "FILE.npy")]
    pub labels: Option<PathBuf>,
    /// Shape of one example when the feature columns are pixels or a signal: C,H,W or C,W (columns channel-last); checked against the number of feature columns (.npy files carry their own).
    #[arg(long, value_delimiter = ',', value_name = "C,H,W")]
    pub input_shape: Option<Vec<usize>>,
}

/// How a table is checked against a saved model's schema.
#[derive(Debug, Args, Clone)]
pub struct ApplyArgs {
    /// A categorical level the model has not seen: error (name file, line, column, level) or zero (all-zero encoding, reported).
    #[arg(long, default_value = "error")]
    pub unknown_level: String,
    /// Cell texts read as missing, comma-separated (default: the ones the model was fitted with).
    #[arg(long, value_delimiter = ',')]
    pub na_values: Option<Vec<String>>,
}

/// `credence predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Folder written by `credence fit`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data to predict (must contain the model's feature columns): CSV, Parquet or whitespace.
    #[arg(long)]
    pub data: PathBuf,
    /// Output file: CSV, or Parquet when it ends in .parquet (default: CSV on stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Schema checks.
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// Seed for methods that sample at prediction time.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Deployment class prevalence of a classifier: a TOML file (class = probability, with provenance) or `estimate` (EM from these rows); re-weights the probabilities by Bayes' rule.
    #[arg(long, value_name = "FILE|estimate")]
    pub class_prior: Option<String>,
    /// Also write prediction regions at this level: the Bayesian central interval (bayes_lower, bayes_upper) or set (bayes_set), and the conformal one (conformal_lower, conformal_upper / conformal_set) when the model was fitted with --calibrate conformal.
    #[arg(long, value_name = "LEVEL")]
    pub interval: Option<f64>,
}

/// `credence evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Folder written by `credence fit`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data with the model's feature columns and its target column (or a NumPy features file with --labels).
    #[arg(long)]
    pub data: PathBuf,
    /// NumPy labels (.npy, shape N or N×1) for a NumPy --data file: they fill the model's target column.
    #[arg(long, value_name = "FILE.npy")]
    pub labels: Option<PathBuf>,
    /// Schema checks.
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// Seed for methods that sample at prediction time.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Out-of-distribution rows (the model's feature columns; a target is not needed): report how
    /// well the predictive's uncertainty separates them from the rows of --data (AUROC, AUPR).
    #[arg(long)]
    pub ood: Option<PathBuf>,
    /// Deployment class prevalence of a classifier: a TOML file (class = probability, with provenance) or `estimate` (EM from these rows); re-weights the probabilities by Bayes' rule.
    #[arg(long, value_name = "FILE|estimate")]
    pub class_prior: Option<String>,
    /// Level of the prediction regions whose coverage and mean width (set size) are reported: Bayesian, and conformal when calibrated.
    #[arg(long, value_name = "LEVEL", default_value_t = 0.9)]
    pub interval: f64,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Run the UCI regression protocol on a dataset folder (data.txt, index_*.txt).
    Uci(Box<UciArgs>),
    /// Time the full-batch gradient of the grad_bench task (small, big, boston; f64 and f32).
    Grad(GradArgs),
    /// Uncertainty under shift (Ovadia et al. 2019) on images: accuracy, NLL, Brier and ECE on rotated test images, OOD AUROC on held-out classes.
    Shift(ShiftArgs),
    /// Calibration and OOD detection on a classification CSV (seeded stratified split).
    Classify(ClassifyArgs),
    /// NUTS sampling efficiency (ESS per second) on one UCI split, optionally beside NumPyro.
    Nuts(NutsBenchArgs),
}

/// `credence bench grad`.
#[derive(Debug, Args)]
pub struct GradArgs {
    /// bostonHousing folder in the UCI format (default: data/bostonHousing, if present).
    #[arg(long)]
    pub boston: Option<PathBuf>,
    /// Cases to run (comma-separated: small, big, boston; default all three, or none with --cnn).
    #[arg(long)]
    pub cases: Option<String>,
    /// Also run the LeNet CNN gradient benchmark of `../shared/peers/cnn_bench` (alone unless
    /// --cases names MLP cases too).
    #[arg(long)]
    pub cnn: bool,
    /// Timed gradients per repeat of the CNN benchmark.
    #[arg(long, default_value_t = 20)]
    pub cnn_iters: usize,
    /// Multiplies the number of timed gradients (1: the peer script's 3000 small, 200 big).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Timed repeats per case; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Hidden activation of the MLP cases: tanh (the peers', with their check values), relu,
    /// sigmoid, softplus or gelu.
    #[arg(long, default_value = "tanh")]
    pub activation: String,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence bench shift`.
#[derive(Debug, Args)]
pub struct ShiftArgs {
    /// Images: a CSV of pixel columns and a label column (default: the bundled 8×8 digits), or a NumPy features file with --labels.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Labels of a NumPy features file (--data X.npy).
    #[arg(long, value_name = "FILE.npy")]
    pub labels: Option<PathBuf>,
    /// Label column of a CSV.
    #[arg(long, default_value = "label")]
    pub target: String,
    /// Shape of one image in a CSV: C,H,W (pixel columns channel-last; default: a square single-channel image).
    #[arg(long, value_delimiter = ',', value_name = "C,H,W")]
    pub input_shape: Option<Vec<usize>>,
    /// Methods, comma-separated: mle, map, ensemble, laplace-ll (last layer), laplace-kfac, mc-dropout, vi, or any other inference method.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "mle,map,ensemble,laplace-ll,laplace-kfac,mc-dropout,vi"
    )]
    pub methods: Vec<String>,
    /// Networks, comma-separated: mlp (the config's hidden layers), cnn (two 3×3 conv + max-pool blocks and a dense layer of 64).
    #[arg(long, value_delimiter = ',', default_value = "mlp,cnn")]
    pub network: Vec<String>,
    /// Rotation angles in degrees, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,15,30,45,60,90")]
    pub angles: Vec<f64>,
    /// Classes with a label ≥ this are held out of training and scored as out of distribution (none: train on every class).
    #[arg(long, default_value = "8")]
    pub ood_from: String,
    /// Share of the in-distribution rows held out for testing, stratified by class.
    #[arg(long, default_value_t = 0.3)]
    pub test_fraction: f64,
    /// Config file (model, training, priors, inference settings).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Seed of the split, the fits and the predictions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the plot (accuracy and ECE against rotation) as SVG here.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Write an HTML report (the plot, every table, OOD detection) here.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
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
    /// Temperature scaling and APS sets (`temperature`): hold out --calibration-fraction of the training rows, and report test ECE and NLL before and after, and set coverage at --interval.
    #[arg(long, value_name = "temperature")]
    pub calibrate: Option<String>,
    /// Share of the training rows held out for calibration.
    #[arg(long, default_value_t = 0.2, requires = "calibrate")]
    pub calibration_fraction: f64,
    /// Level of the prediction sets compared with --calibrate.
    #[arg(long, default_value_t = 0.9, requires = "calibrate")]
    pub interval: f64,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `credence bench uci`.
#[derive(Debug, Args)]
pub struct UciArgs {
    /// Dataset folder in the UCI benchmark format.
    pub dir: PathBuf,
    /// Inference method: mle, map, laplace, vi, mc-dropout, ensemble, anchored-ensemble, nuts, hmc, sgld, sghmc, swag, multiswag.
    #[arg(long, default_value = "map")]
    pub method: String,
    /// Number of splits (default: all).
    #[arg(long, conflicts_with = "split_ids")]
    pub splits: Option<usize>,
    /// Run only these splits (0-based, comma-separated), e.g. to share a benchmark across machines.
    #[arg(long, value_delimiter = ',')]
    pub split_ids: Option<Vec<usize>>,
    /// With --json, keep the per-split results in the printed object.
    #[arg(long)]
    pub per_split: bool,
    /// Config file (model, training, priors).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Published results CSV to show beside ours (default: published_results.csv beside DIR, if any).
    #[arg(long)]
    pub published: Option<PathBuf>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Memory each fit may use, e.g. 4G or 512M (default: the config's max_memory, else what the machine has available).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// Sampler settings (nuts, hmc, sgld, sghmc).
    #[command(flatten)]
    pub sampler: SamplerArgs,
    /// Laplace settings (override the config's `[inference]` table).
    #[command(flatten)]
    pub laplace: LaplaceArgs,
    /// Split conformal on each split (`conformal`): hold out --calibration-fraction of the training rows, and report test coverage and mean width of the conformal and Bayesian intervals at --interval.
    #[arg(long, value_name = "conformal")]
    pub calibrate: Option<String>,
    /// Share of each split's training rows held out for calibration.
    #[arg(long, default_value_t = 0.2, requires = "calibrate")]
    pub calibration_fraction: f64,
    /// Level of the intervals compared with --calibrate.
    #[arg(long, default_value_t = 0.9, requires = "calibrate")]
    pub interval: f64,
    /// Conformity score with --calibrate: normalized (default), absolute or cqr.
    #[arg(long, default_value = "normalized", requires = "calibrate")]
    pub conformal_score: String,
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
    /// Schema checks.
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// Alternative factual priors (TOML `[[alternative]]` entries with `[[alternative.prior]]` lists): refit and re-decide.
    #[arg(long)]
    pub alternatives_prior: Option<PathBuf>,
    /// Alternative value sets (TOML `[[alternative]]` entries, each a decision spec with a `name`): re-decide without refitting.
    #[arg(long)]
    pub alternatives_value: Option<PathBuf>,
    /// Write the per-row decisions as CSV here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Deployment class prevalence of a classifier: a TOML file (class = probability, with provenance) or `estimate` (EM from these rows); re-weights the probabilities by Bayes' rule.
    #[arg(long, value_name = "FILE|estimate")]
    pub class_prior: Option<String>,
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
    /// Data file: CSV with a header, Parquet, or whitespace-separated columns.
    #[arg(long)]
    pub data: PathBuf,
    /// Share of rows in the test file.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Class column to stratify by.
    #[arg(long)]
    pub stratify: Option<String>,
    /// Subsample the test rows so that one class makes up a share of them (`CLASS=SHARE`, e.g. `0=0.05`; needs --stratify): every row of the other classes is kept, a seeded subset of the class's rows.
    #[arg(long, value_name = "CLASS=SHARE", requires = "stratify")]
    pub test_share: Option<String>,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Training rows go here (CSV, or Parquet when it ends in .parquet).
    #[arg(long)]
    pub train: PathBuf,
    /// Test rows go here (CSV, or Parquet when it ends in .parquet).
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
    /// Schema checks.
    #[command(flatten)]
    pub apply: ApplyArgs,
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
    /// Deployment class prevalence of a classifier: a TOML file (class = probability, with provenance) or `estimate` (EM from these rows); re-weights the probabilities by Bayes' rule.
    #[arg(long, value_name = "FILE|estimate")]
    pub class_prior: Option<String>,
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

/// `credence elicit`.
#[derive(Debug, Args)]
pub struct ElicitArgs {
    /// Family: normal | lognormal | gamma | beta | student-t | half-normal.
    #[arg(long)]
    pub family: String,
    /// A stated quantile P=VALUE (P(X ≤ VALUE) = P), e.g. 0.05=400; repeat for more.
    #[arg(long, value_name = "P=VALUE", allow_hyphen_values = true)]
    pub quantile: Vec<String>,
    /// A stated mean (with --sd).
    #[arg(long, allow_negative_numbers = true)]
    pub mean: Option<f64>,
    /// A stated standard deviation (with --mean).
    #[arg(long, allow_negative_numbers = true)]
    pub sd: Option<f64>,
    /// A stated mode (with --range).
    #[arg(long, allow_negative_numbers = true)]
    pub mode: Option<f64>,
    /// The central interval LOW,HIGH holding --mass of the probability (with --mode).
    #[arg(long, value_name = "LOW,HIGH", allow_hyphen_values = true)]
    pub range: Option<String>,
    /// Probability inside --range.
    #[arg(long, allow_negative_numbers = true, default_value_t = 0.95)]
    pub mass: f64,
    /// Degrees of freedom of a student-t (otherwise fitted: three quantiles needed).
    #[arg(long, allow_negative_numbers = true)]
    pub df: Option<f64>,
    /// Past data: a data file (CSV, Parquet or whitespace) whose --column is fitted by maximum likelihood.
    #[arg(long, value_name = "FILE")]
    pub from_data: Option<PathBuf>,
    /// The column of --from-data (name, or 0-based index).
    #[arg(long)]
    pub column: Option<String>,
    /// Power prior: the past data count as WEIGHT·n observations (normal, lognormal).
    #[arg(long, allow_negative_numbers = true)]
    pub weight: Option<f64>,
    /// What a prior from past data is on: `value` (a future value: the predictive) or `mean` (the mean of future data).
    #[arg(long, default_value = "value")]
    pub target: String,
    /// Provenance kind of the written prior: factual | value | default.
    #[arg(long, default_value = "factual")]
    pub provenance: String,
    /// Where the statement comes from (a person, a document); recorded as the provenance source.
    #[arg(long)]
    pub source: Option<String>,
    /// Who holds the value (for --provenance value).
    #[arg(long)]
    pub holder: Option<String>,
    /// The `params` of the written [[prior]] (a group pattern).
    #[arg(long, default_value = "noise")]
    pub params: String,
    /// For a noise prior: the quantity it is on, scale | precision | variance.
    #[arg(long, default_value = "scale")]
    pub on: String,
    /// Write the [[prior]] block to this file (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the density with the stated values marked (SVG).
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
    /// Data file: CSV with a header, Parquet (.parquet), or whitespace-separated columns.
    #[arg(long)]
    pub data: PathBuf,
    /// Columns: target(s), features, dropped, categorical; missing values.
    #[command(flatten)]
    pub columns: ColumnArgs,
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
    /// Config file (model, priors); default: the peer's model (the UCI network, N(0, 1) weights, Gamma(6, 6) on the noise precision).
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

/// Sampler settings given on the command line; each overrides the config's `[inference]` key
/// of the same name.
#[derive(Debug, Args, Clone, Default)]
pub struct SamplerArgs {
    /// Chains run in parallel (default 2; SGLD/SGHMC 4).
    #[arg(long)]
    pub chains: Option<usize>,
    /// Warm-up iterations per chain (NUTS/HMC; default 300).
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Draws kept per chain (NUTS/HMC; default 300).
    #[arg(long)]
    pub draws: Option<usize>,
    /// Keep every n-th iteration (NUTS/HMC) or epoch (SGLD/SGHMC).
    #[arg(long)]
    pub thin: Option<usize>,
    /// Target acceptance of the step-size adaptation (default 0.8).
    #[arg(long)]
    pub target_accept: Option<f64>,
    /// Maximum NUTS tree depth (default 8).
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
    /// Laplace: evidence tuning of prior precision and noise: post-hoc, online (during training), none.
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

/// Parses `--max-memory` (4G, 512M, a number of bytes).
fn parse_size(text: &str) -> Result<u64, String> {
    credence::resources::parse_size(text)
}
