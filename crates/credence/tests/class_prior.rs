//! Base rates as factual priors on breast_cancer.csv (0 = malignant, 37% of rows): a model
//! trained on a stratified half as is, tested on the other half resampled to 5% malignant
//! (seeded). Re-weighting by Bayes' rule to the deployment prevalence must improve NLL and
//! Brier, the EM estimate of that prevalence must land within 3 of its standard errors of 5%,
//! and the Bayes actions of a decision file must move accordingly.

use credence::config::{Config, LikelihoodConfig};
use credence::data::{read_table, stratified_split, subsample_to_share, Dataset};
use credence::decide::{decide, DecisionSpec};
use credence::eval::{metrics, Metrics};
use credence::fit::{fit, ClassPriorChoice, FitOptions, FittedModel};
use credence::infer::{Method, Silent};
use credence::predict::ClassPrior;
use std::path::{Path, PathBuf};

const FAST: &str = r#"
[model]
hidden = [8]
[training]
epochs = 60
"#;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)
}

/// (model, test rows at 5% malignant).
fn setup() -> (FittedModel, Dataset) {
    let data = Dataset::from_table(
        &read_table(
            &repo("data/classification/breast_cancer.csv"),
            &Default::default(),
        )
        .unwrap(),
        "label",
        None,
    )
    .unwrap();
    let (train, test) = stratified_split(&data.y, 0.5, 0);
    let test = subsample_to_share(&data.y, &test, 0, 0.05, 0).unwrap();
    let mut cfg = Config::parse("fast.toml", FAST).unwrap();
    cfg.model.likelihood = Some(LikelihoodConfig::Categorical { classes: 0 });
    let model = fit(
        &data.subset(&train),
        &cfg,
        FitOptions {
            method: Method::Laplace,
            seed: 0,
            progress: &Silent,
            strict_columns: true,
        },
    )
    .unwrap();
    (model, data.subset(&test))
}

fn nll_brier(m: Metrics) -> (f64, f64) {
    match m {
        Metrics::Classification(c) => (c.nll, c.brier),
        _ => panic!("expected classification"),
    }
}

#[test]
fn base_rates_improve_scores_em_finds_them_and_decisions_follow() {
    let (model, test) = setup();
    let train = model.record.class_prevalence.clone().unwrap();
    assert!((train[0] - 106.0 / 284.0).abs() < 0.01, "{train:?}");
    let malignant = test.y.iter().filter(|&&y| y == 0.0).count() as f64 / test.rows as f64;
    assert!((malignant - 0.05).abs() < 0.005, "{malignant}");

    let given = ClassPrior::from_file(
        &repo("data/class_priors/breast_cancer_screening.toml"),
        &model.record.class_names(),
    )
    .unwrap();
    let raw = model.predict(&test, 0).unwrap();
    let (adjusted, used) = model
        .predict_with_class_prior(&test, 0, &ClassPriorChoice::Given(given.clone()))
        .unwrap();
    assert_eq!(used, given);
    let (nll0, brier0) = nll_brier(metrics(&raw, &test.y).unwrap());
    let (nll1, brier1) = nll_brier(metrics(&adjusted, &test.y).unwrap());
    assert!(
        nll1 < nll0 && brier1 < brier0,
        "NLL {nll0} → {nll1}, Brier {brier0} → {brier1}"
    );

    // EM from the unlabelled test rows: within 3 standard errors of the 5% they were drawn at.
    let (estimated, est) = model
        .predict_with_class_prior(&test, 0, &ClassPriorChoice::Estimate("test".into()))
        .unwrap();
    let se = est.std_errors.clone().unwrap();
    assert!(se[0] > 0.0 && se[0] < 0.05, "{se:?}");
    assert!(
        (est.probs[0] - 0.05).abs() < 3.0 * se[0],
        "EM {} ± {} vs 0.05",
        est.probs[0],
        se[0]
    );
    let (nll2, brier2) = nll_brier(metrics(&estimated, &test.y).unwrap());
    assert!(
        nll2 < nll0 && brier2 < brier0,
        "NLL {nll0} → {nll2}, Brier {brier0} → {brier2}"
    );

    // Decisions: biopsy when P(malignant) > 1/20. Lowering the base rate only lowers
    // P(malignant), so actions can only move from biopsy to discharge, and some must.
    let spec = DecisionSpec::from_file(&repo("data/decisions/breast_cancer_biopsy.toml")).unwrap();
    let before = decide(&raw, &spec, 0).unwrap();
    let after = decide(&adjusted, &spec, 0).unwrap();
    let mut moved = 0;
    for (b, a) in before.iter().zip(&after) {
        if b.action != a.action {
            assert_eq!(
                (b.action.as_str(), a.action.as_str()),
                ("biopsy", "discharge")
            );
            moved += 1;
        }
    }
    assert!(moved > 0, "no decision moved");
}
