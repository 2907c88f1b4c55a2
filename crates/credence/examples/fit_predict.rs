//! Fit a network by MAP under an explicit, documented prior on the bundled yacht data (UCI
//! split 0), then predict with uncertainty and score it. Run with
//! `cargo run -p credence --example fit_predict`.

use credence::config::Config;
use credence::data::uci::UciFolder;
use credence::eval::regression_metrics;
use credence::fit::{fit, FitOptions};
use credence::infer::Silent;
use credence::{Method, Predictive};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/yacht");
    let (train, test) = UciFolder::open(&dir)?.split(0)?;
    // A prior file as a user would write it: every prior says where it comes from.
    let config = Config::parse(
        "example.toml",
        r#"
        [model]
        hidden = [50]
        activation = "tanh"
        [[prior]]
        params = "*"
        distribution = { family = "normal", loc = 0.0, scale = 1.0 }
        provenance = { kind = "default", source = "example", note = "unit scale on standardised data" }
        [[prior]]
        params = "noise"
        distribution = { family = "half-cauchy", scale = 1.0 }
        provenance = { kind = "default", source = "example", note = "weakly informative on the noise sd" }
        "#,
    )?;
    let model = fit(
        &train,
        &config,
        FitOptions {
            method: Method::Map,
            seed: 0,
            progress: &Silent,
            strict_columns: false,
        },
    )?;
    let Predictive::Regression(pred) = model.predict(&test, 0)? else {
        return Err("expected a regression predictive".into());
    };
    let m = regression_metrics(&pred, &test.y);
    println!("priors: {}", model.record.prior_summary);
    println!(
        "test RMSE {:.3}, test log-likelihood {:.3} over {} rows",
        m.rmse, m.log_lik, m.rows
    );
    let (mean, sd) = (pred.mean(), pred.std());
    for n in 0..3 {
        println!(
            "row {n}: observed {:.2}, predicted {:.2} ± {:.2}",
            test.y[n], mean[n], sd[n]
        );
    }
    Ok(())
}
