//! Time of one log-density gradient of the UCI network on bostonHousing split 0 (13 → 50 tanh
//! → 1, default priors, 455 rows): the quantity NUTS spends its time on. Reports the fastest of
//! several batches, which is robust to other load on the machine.
//!
//! Run with `cargo run --release -p credence --example gradient_time`.

use credence::data::uci::UciFolder;
use credence::data::{ConstantColumn, Standardizer};
use credence::likelihood::Likelihood;
use credence::model::{Model, ModelSpec};
use credence::nn::{Activation, Mlp};
use credence::{rng, LogDensity, PriorSet, Result};
use std::time::Instant;

fn main() -> Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/bostonHousing");
    let (train, _) = UciFolder::open(&dir)?.split(0)?;
    let st = Standardizer::fit(&train, true, ConstantColumn::Keep)?;
    let data = st.transform(&train)?;
    let spec = ModelSpec {
        net: Mlp::new(vec![train.features, 50, 1], Activation::Tanh).into(),
        likelihood: Likelihood::Gaussian { noise: None },
    };
    let priors = PriorSet::default_priors().resolve(&spec.layout(), "default")?;
    let mut model = Model::new(spec.clone(), Some(priors), &data)?;
    model.jacobian = true;
    let theta = spec.init(&mut rng::stream(0, 0));
    let mut grad = vec![0.0; theta.len()];
    let (batches, per) = (10, 300);
    let mut best = f64::INFINITY;
    for _ in 0..batches {
        let t = Instant::now();
        for _ in 0..per {
            model.logp_grad(&theta, &mut grad)?;
        }
        best = best.min(t.elapsed().as_secs_f64() / per as f64);
    }
    println!(
        "{} rows, {} parameters: {:.4} ms per log-density gradient (fastest of {batches} batches of {per})",
        data.rows,
        theta.len(),
        1e3 * best
    );
    Ok(())
}
