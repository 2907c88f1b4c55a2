//! VI, MC dropout, deep and anchored ensembles end to end: fit on small data, the shared
//! predictive summary, artifact round trips, and the uncertainty metrics (small networks, few
//! epochs: this file runs in a few seconds).

use credence::config::Config;
use credence::data::{read_table, Dataset};
use credence::eval::{metrics, ood_metrics, Metrics};
use credence::fit::{fit, FitOptions};
use credence::infer::{Method, Silent};
use credence::Predictive;
use std::path::Path;

const FAST: &str = r#"
[model]
hidden = [8]
[training]
epochs = 60
batch_size = 32
patience = 20
[inference]
epochs = 150
members = 3
passes = 20
samples = 20
rate_grid = [0.05, 0.2]
"#;

fn iris() -> Dataset {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/classification/iris.csv");
    Dataset::from_table(&read_table(&p, &Default::default()).unwrap(), "label", None).unwrap()
}

fn regression_data() -> Dataset {
    let mut r = credence::rng::stream(4, 0);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..80 {
        let a = 4.0 * credence::rng::uniform(&mut r) - 2.0;
        x.push(a);
        y.push(a.sin() + 0.2 * credence::rng::normal(&mut r));
    }
    Dataset::from_arrays(x, y, 1).unwrap()
}

const NEW: [Method; 4] = [
    Method::Vi,
    Method::McDropout,
    Method::Ensemble,
    Method::AnchoredEnsemble,
];

fn opts(method: Method) -> FitOptions<'static> {
    FitOptions {
        method,
        seed: 7,
        progress: &Silent,
        strict_columns: true,
    }
}

#[test]
fn every_method_classifies_iris_and_round_trips_through_an_artifact() {
    let mut cfg = Config::parse("fast.toml", FAST).unwrap();
    cfg.model.likelihood = Some(credence::config::LikelihoodConfig::Categorical { classes: 0 });
    let data = iris();
    let dir = tempfile::tempdir().unwrap();
    for m in NEW {
        let model = fit(&data, &cfg, opts(m)).unwrap();
        let p = model.predict(&data, 1).unwrap();
        let Metrics::Classification(c) = metrics(&p, &data.y).unwrap() else {
            panic!("expected classification metrics");
        };
        // Iris is easy: a fit that learned anything is far above the 1/3 base rate.
        assert!(c.accuracy > 0.85, "{}: accuracy {}", m.name(), c.accuracy);
        assert!((0.0..=1.0).contains(&c.ece) && c.mce >= c.ece - 1e-12);
        assert_eq!(
            c.reliability.iter().map(|b| b.count).sum::<usize>(),
            data.rows
        );
        let Predictive::Classification(cp) = &p else {
            panic!()
        };
        // Methods with more than one component report epistemic uncertainty somewhere.
        assert!(
            cp.mutual_information().iter().any(|&v| v > 1e-6),
            "{}: no epistemic uncertainty",
            m.name()
        );
        let path = dir.path().join(m.name());
        credence::artifact::save(&path, &model).unwrap();
        let back = credence::artifact::load(&path).unwrap();
        assert_eq!(back.record.posterior_kind, model.record.posterior_kind);
        let q = back.predict(&data, 1).unwrap();
        let (Predictive::Classification(a), Predictive::Classification(b)) = (&p, &q) else {
            panic!()
        };
        // Same tensors and the same prediction seed: the same predictions (up to the last bits
        // of the standardiser's JSON round trip).
        let diff = a
            .probs()
            .iter()
            .zip(b.probs())
            .map(|(u, v)| (u - v).abs())
            .fold(0.0, f64::max);
        assert!(diff < 1e-12, "{}: predictions differ by {diff}", m.name());
    }
}

#[test]
fn regression_predictive_and_metrics_for_every_method() {
    let cfg = Config::parse("fast.toml", FAST).unwrap();
    let data = regression_data();
    for m in NEW {
        let model = fit(&data, &cfg, opts(m)).unwrap();
        let rec = &model.record;
        match m {
            Method::Vi => {
                let elbo = rec.outcome["elbo"].as_array().unwrap();
                assert_eq!(elbo.len(), 150);
            }
            Method::McDropout => {
                assert_eq!(rec.outcome["rate_source"], "validation");
                assert_eq!(rec.outcome["trials"].as_array().unwrap().len(), 2);
            }
            _ => assert_eq!(rec.outcome["member_fits"].as_array().unwrap().len(), 3),
        }
        let p = model.predict(&data, 0).unwrap();
        let Predictive::Regression(rp) = &p else {
            panic!()
        };
        assert!(rp.epistemic_var().iter().all(|&v| v > 0.0), "{}", m.name());
        assert!(rp.aleatoric_var().iter().all(|&v| v > 0.0), "{}", m.name());
        let Metrics::Regression(r) = metrics(&p, &data.y).unwrap() else {
            panic!()
        };
        assert!((r.nll + r.log_lik).abs() < 1e-12);
        // Noise sd 0.2: CRPS of a calibrated predictive is about 0.2/√π ≈ 0.11; allow slack
        // for the short training.
        assert!(
            r.crps > 0.0 && r.crps < 0.4,
            "{}: CRPS {}",
            m.name(),
            r.crps
        );
        assert_eq!(r.coverage.len(), 4);
        for w in r.coverage.windows(2) {
            assert!(w[0].observed <= w[1].observed);
        }
        // Far outside the training inputs (|x| ≤ 2), the epistemic spread must grow.
        let far = Dataset::from_arrays(vec![8.0, -8.0, 9.0, -9.0], vec![0.0; 4], 1).unwrap();
        let pf = model.predict(&far, 0).unwrap();
        let o = ood_metrics(&p, &pf).unwrap();
        let ep = o
            .scores
            .iter()
            .find(|s| s.score == "epistemic_std")
            .unwrap();
        // MC dropout's spread far out is weaker (saturated tanh units keep the dropout variance
        // bounded), so it only has to beat chance; the others must separate clearly.
        let bar = if m == Method::McDropout { 0.5 } else { 0.9 };
        assert!(ep.auroc > bar, "{}: AUROC {}", m.name(), ep.auroc);
    }
}
