//! Numerical edge cases in data handling (issue 18, part 5): magnitudes near 1e308 and 1e-308
//! standardised without overflow or refused with the magnitude named, a target with one
//! distinct value, a categorical level or class seen once, perfectly collinear features.

use credence::config::Config;
use credence::data::{
    parse_csv, ConstantColumn, Dataset, ReadOptions, Schema, SchemaOptions, Standardizer, Table,
};
use credence::fit::{fit_table, FitOptions};
use credence::infer::Silent;
use credence::{Method, Predictive};

fn table(text: &str) -> Table {
    parse_csv("t.csv", text, &ReadOptions::default()).unwrap()
}

fn opts(target: &str) -> SchemaOptions {
    SchemaOptions {
        targets: vec![target.into()],
        ..SchemaOptions::default()
    }
}

/// A table `x,y` with `x = scale · base_i` and a well-scaled target.
fn scaled_table(scale: f64, rows: usize) -> String {
    let mut s = String::from("x,y\n");
    for i in 0..rows {
        let base = 1.0 + 0.5 * ((i * 7) % 11) as f64 / 11.0;
        s.push_str(&format!("{:e},{}\n", scale * base, (i % 5) as f64 * 0.3));
    }
    s
}

fn standardised_x(scale: f64) -> Vec<f64> {
    let (_, enc) = Schema::fit(&table(&scaled_table(scale, 20)), &opts("y")).unwrap();
    let s = Standardizer::fit(&enc.data, true, ConstantColumn::Error).unwrap();
    assert!(s.x_mean[0].is_finite() && s.x_std[0].is_finite() && s.x_std[0] > 0.0);
    s.transform_x(&enc.data).unwrap()
}

#[test]
fn a_column_near_1e308_or_1e_300_standardises_as_the_same_column_at_unit_scale() {
    // Standardising is unit-free: z(c·x) = z(x). Before, a column near 1e308 overflowed when
    // squared ("the column is constant (inf)") and one near 1e-300 counted as constant.
    // Tolerance 1e-12: a few roundings of the scaled two-pass mean and spread.
    let unit = standardised_x(1.0);
    for scale in [1e308 / 1.5, 1e-300, 1e150, 1e-150] {
        let z = standardised_x(scale);
        for (a, b) in z.iter().zip(&unit) {
            assert!((a - b).abs() < 1e-12, "scale {scale:e}: {a} vs {b}");
        }
    }
}

#[test]
fn values_at_both_ends_of_the_f64_range_standardise_to_finite_numbers() {
    // x − mean overflows for 1.7e308 − (−1.7e308); the standardisation must not.
    let data = Dataset::from_arrays(
        vec![1.7e308, -1.7e308, 1.7e308, -1.7e308, 0.0],
        vec![0.0, 1.0, 0.0, 1.0, 0.5],
        1,
    )
    .unwrap();
    let s = Standardizer::fit(&data, true, ConstantColumn::Error).unwrap();
    let z = s.transform_x(&data).unwrap();
    assert!(z.iter().all(|v| v.is_finite()), "{z:?}");
    assert!((z[0] + z[1]).abs() < 1e-12, "{z:?}");
}

#[test]
fn a_feature_whose_spread_is_below_the_smallest_normal_f64_is_refused_with_its_magnitude() {
    let data = Dataset::from_arrays(
        vec![0.0, 1e-310, 2e-310, 1e-310],
        vec![0.0, 1.0, 2.0, 3.0],
        1,
    )
    .unwrap();
    let e = Standardizer::fit(&data, true, ConstantColumn::Keep)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("x0") && e.contains("largest magnitude 2e-310") && e.contains("rescale"),
        "{e}"
    );
}

#[test]
fn a_target_near_1e300_is_refused_with_its_magnitude_and_one_near_1e100_is_fitted() {
    let rows = |scale: f64| {
        let mut s = String::from("x,y\n");
        for i in 0..24 {
            let x = i as f64 / 24.0;
            s.push_str(&format!(
                "{x},{:e}\n",
                scale * (1.0 + x + 0.1 * (i % 3) as f64)
            ));
        }
        s
    };
    let fit = |scale: f64| {
        fit_table(
            &table(&rows(scale)),
            &opts("y"),
            &ReadOptions::default(),
            &Config::parse("c.toml", "[model]\nhidden = [4]\n[training]\nepochs = 20\n").unwrap(),
            FitOptions {
                method: Method::Map,
                seed: 0,
                progress: &Silent,
                strict_columns: true,
            },
        )
    };
    let e = fit(1e300).unwrap_err().to_string();
    assert!(
        e.contains("'y'") && e.contains("spread by") && e.contains("e299") && e.contains("divide"),
        "{e}"
    );
    let e = fit(1e-300).unwrap_err().to_string();
    assert!(e.contains("underflow") && e.contains("multiply"), "{e}");
    let (model, _) = fit(1e100).unwrap();
    let (_, enc) = Schema::fit(&table(&rows(1e100)), &opts("y")).unwrap();
    let Predictive::Regression(p) = model.predict(&enc.data, 0).unwrap() else {
        panic!("expected a regression predictive");
    };
    assert!(p.mean().iter().all(|m| m.is_finite() && m.abs() > 1e99));
    assert!(p.std().iter().all(|s| s.is_finite() && *s > 0.0));
}

#[test]
fn a_feature_column_near_1e308_fits_end_to_end() {
    // The case: before, "the column is constant (inf)".
    let (model, notes) = fit_table(
        &table(&scaled_table(1e308 / 1.5, 24)),
        &opts("y"),
        &ReadOptions::default(),
        &Config::parse("c.toml", "[model]\nhidden = [4]\n[training]\nepochs = 20\n").unwrap(),
        FitOptions {
            method: Method::Map,
            seed: 0,
            progress: &Silent,
            strict_columns: true,
        },
    )
    .unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    let st = &model.record.standardizer;
    assert!(st.x_mean[0] > 1e307 && st.x_std[0] > 1e306 && st.x_std[0].is_finite());
}

#[test]
fn a_target_with_one_distinct_value_is_refused_for_regression_and_classification() {
    let fit = |text: &str, config: &str| {
        fit_table(
            &table(text),
            &opts("y"),
            &ReadOptions::default(),
            &Config::parse("c.toml", config).unwrap(),
            FitOptions {
                method: Method::Map,
                seed: 0,
                progress: &Silent,
                strict_columns: true,
            },
        )
        .unwrap_err()
        .to_string()
    };
    let reg = "x,y\n1,3.5\n2,3.5\n3,3.5\n4,3.5\n";
    let e = fit(reg, "[model]\nhidden = [2]\n");
    assert!(e.contains("'y'") && e.contains("constant (3.5)"), "{e}");
    let class = "x,y\n1,cat\n2,cat\n3,cat\n4,cat\n";
    let e = fit(class, "[model]\nhidden = [2]\n");
    assert!(
        e.contains("'y'") && e.contains("one class only ('cat')"),
        "{e}"
    );
}

fn notes_of(text: &str, target: &str) -> Vec<String> {
    Schema::fit(&table(text), &opts(target)).unwrap().1.notes
}

#[test]
fn a_categorical_level_seen_once_is_stated() {
    let text = "x,colour,y\n1,red,1\n2,red,2\n3,blue,3\n4,blue,4\n5,green,5\n6,red,6\n";
    let notes = notes_of(text, "y");
    assert!(
        notes.iter().any(|n| n.contains("column 'colour'")
            && n.contains("level 'green' appears in one training row only")),
        "{notes:?}"
    );
    // Every level seen at least twice: nothing to say.
    let text = "x,colour,y\n1,red,1\n2,red,2\n3,blue,3\n4,blue,4\n";
    assert!(notes_of(text, "y").is_empty());
}

#[test]
fn a_class_seen_once_is_stated() {
    let text = "x,y\n1,a\n2,a\n3,b\n4,b\n5,c\n";
    let notes = notes_of(text, "y");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("target 'y'") && n.contains("class 'c' has one training row")),
        "{notes:?}"
    );
}

#[test]
fn perfectly_collinear_features_are_stated_with_their_relation() {
    let mut text = String::from("a,b,c,big,y\n");
    for i in 0..30 {
        let a = ((i * 7) % 13) as f64 * 0.37;
        let c = ((i * 5) % 11) as f64;
        // b = −2a + 3; big = 1e300 · a (collinear with a and b at another magnitude).
        text.push_str(&format!(
            "{a},{},{c},{:e},{}\n",
            -2.0 * a + 3.0,
            1e300 * a,
            i % 4
        ));
    }
    let notes = notes_of(&text, "y");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("columns 'a' and 'b' are perfectly collinear ('b' = -2 × 'a' + 3")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("'a' and 'big'") && n.contains("1.000e300 × 'a'")),
        "{notes:?}"
    );
    assert!(!notes.iter().any(|n| n.contains("'c'")), "{notes:?}");
    assert_eq!(notes.len(), 3, "a–b, a–big, b–big: {notes:?}");
}
