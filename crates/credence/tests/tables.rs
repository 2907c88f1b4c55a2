//! Typed tables end to end: text, boolean and missing cells, the schema learned at fit time and
//! re-applied at predict time, Parquet beside CSV, and every bad input's message.

use credence::config::Config;
use credence::data::parquet::{read_parquet, table_columns, write_parquet};
use credence::data::{
    parse_csv, MissingPolicy, ReadOptions, Schema, SchemaOptions, Table, UnknownLevel,
};
use credence::fit::{fit_table, FitOptions, FitRecord};
use credence::infer::Silent;
use credence::Method;

/// The table: `age,sex,region,income,spend`, one income cell empty, an id column.
fn people(rows: usize) -> String {
    let mut s = String::from("id,age,sex,region,income,spend\n");
    let regions = ["north", "south", "east"];
    for i in 0..rows {
        let age = 20 + (i * 7) % 50;
        let sex = if i % 3 == 0 { "F" } else { "M" };
        let region = regions[i % 3];
        let income = 20.0 + ((i * 13) % 70) as f64;
        let spend = 0.3 * income
            + if sex == "F" { 5.0 } else { 0.0 }
            + if region == "north" { 3.0 } else { 0.0 }
            + ((i * 31) % 7) as f64 * 0.3;
        let income = if i == 0 {
            String::new()
        } else {
            format!("{income}")
        };
        s.push_str(&format!("p{i},{age},{sex},{region},{income},{spend}\n"));
    }
    s
}

fn table(text: &str) -> Table {
    parse_csv("t.csv", text, &ReadOptions::default()).unwrap()
}

fn opts(target: &str, missing: MissingPolicy) -> SchemaOptions {
    SchemaOptions {
        targets: vec![target.into()],
        missing,
        ..Default::default()
    }
}

fn map_fit(t: &Table, so: &SchemaOptions) -> credence::FittedModel {
    let mut config = Config::default();
    config.training.epochs = 60;
    fit_table(
        t,
        so,
        &ReadOptions::default(),
        &config,
        FitOptions {
            method: Method::Map,
            seed: 0,
            progress: &Silent,
            strict_columns: true,
        },
    )
    .unwrap()
    .0
}

fn err<T: std::fmt::Debug>(r: credence::Result<T>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn missing_cell_is_an_error_naming_file_line_column_and_both_options() {
    let t = table(&people(30));
    let m = err(Schema::fit(&t, &opts("spend", MissingPolicy::Error)));
    assert!(
        m.contains("t.csv, line 2, column 'income'")
            && m.contains("--missing drop")
            && m.contains("--missing impute"),
        "{m}"
    );
}

#[test]
fn unused_text_columns_are_not_read_as_numbers_and_identifiers_are_left_out() {
    let t = table(&people(30));
    let mut so = opts("spend", MissingPolicy::Drop);
    so.features = Some(vec!["age".into(), "income".into()]);
    let (schema, enc) = Schema::fit(&t, &so).unwrap();
    assert_eq!(enc.data.feature_names, vec!["age", "income"]);
    assert_eq!(enc.data.rows, 29);
    assert!(enc
        .notes
        .iter()
        .any(|n| n.contains("1 row") && n.contains("--missing drop")));
    assert_eq!(schema.inputs.len(), 2);
    // Default features: the id column (all distinct text) is left out with a note.
    let (schema, enc) = Schema::fit(&t, &opts("spend", MissingPolicy::Impute)).unwrap();
    assert!(enc
        .notes
        .iter()
        .any(|n| n.contains("'id'") && n.contains("identifier")));
    assert!(schema.dropped.iter().any(|d| d.name == "id"));
    assert_eq!(
        enc.data.feature_names,
        vec![
            "age",
            "sex=F",
            "sex=M",
            "region=east",
            "region=north",
            "region=south",
            "income",
            "income:missing"
        ]
    );
    // Row 0 had no income: the training mean and the indicator.
    let mean = (1..30).map(|i| 20.0 + ((i * 13) % 70) as f64).sum::<f64>() / 29.0;
    assert!((enc.data.x[6] - mean).abs() < 1e-12 && enc.data.x[7] == 1.0);
    // --drop removes a column.
    let mut so = opts("spend", MissingPolicy::Impute);
    so.drop = vec!["region".into()];
    let (_, enc) = Schema::fit(&t, &so).unwrap();
    assert!(!enc
        .data
        .feature_names
        .iter()
        .any(|n| n.starts_with("region")));
}

#[test]
fn predict_applies_the_stored_schema_and_refuses_what_does_not_match() {
    let t = table(&people(40));
    let model = map_fit(&t, &opts("spend", MissingPolicy::Impute));
    let r: &FitRecord = &model.record;
    let schema = r.schema.as_ref().unwrap();
    // The schema survives model.json.
    let back: FitRecord = serde_json::from_str(&serde_json::to_string(r).unwrap()).unwrap();
    assert_eq!(back.schema.as_ref(), Some(schema));
    // A prediction table in another column order, with an extra column and a missing income.
    let p = table("spend,income,region,sex,age,extra\n0,,north,F,30,1\n0,50,south,M,40,2\n");
    let enc = r.encode(&p, false, UnknownLevel::Error).unwrap();
    assert!(enc
        .notes
        .iter()
        .any(|n| n.contains("extra") && n.contains("ignored")));
    let mean = match &schema.inputs[3].kind {
        credence::data::schema::InputKind::Numeric { impute, .. } => impute.unwrap(),
        k => panic!("{k:?}"),
    };
    assert_eq!(
        &enc.data.x[..8],
        &[30.0, 1.0, 0.0, 0.0, 1.0, 0.0, mean, 1.0]
    );
    model.predict(&enc.data, 0).unwrap();
    // Unseen level: an error naming file, line, column and level, or zeros on request.
    let u = table("age,sex,region,income\n30,F,west,50\n");
    let m = err(r.encode(&u, false, UnknownLevel::Error));
    assert!(
        m.contains("t.csv, line 2, column 'region'")
            && m.contains("'west'")
            && m.contains("--unknown-level zero"),
        "{m}"
    );
    let enc = r.encode(&u, false, UnknownLevel::Zero).unwrap();
    assert_eq!(enc.unseen, vec![true]);
    assert_eq!(&enc.data.x[3..6], &[0.0, 0.0, 0.0]);
    // A missing column, a text value in a numeric column.
    let m = err(r.encode(
        &table("age,sex,income\n30,F,50\n"),
        false,
        UnknownLevel::Error,
    ));
    assert!(m.contains("column 'region'") && m.contains("lacks"), "{m}");
    let m = err(r.encode(
        &table("age,sex,region,income\n30,F,north,50\nold,M,south,60\n"),
        false,
        UnknownLevel::Error,
    ));
    assert!(
        m.contains("line 3, column 'age'") && m.contains("numeric") && m.contains("'old'"),
        "{m}"
    );
}

#[test]
fn booleans_and_wrong_types_and_mostly_numeric_text() {
    let t = table("a,flag,y\n1,yes,1\n2,no,2\n3,Yes,3.5\n4,no,3\n");
    let (schema, enc) = Schema::fit(&t, &opts("y", MissingPolicy::Error)).unwrap();
    assert_eq!(enc.data.x, vec![1.0, 1.0, 2.0, 0.0, 3.0, 1.0, 4.0, 0.0]);
    let rec_err = schema
        .apply(
            &table("a,flag\n1,maybe\n"),
            false,
            false,
            UnknownLevel::Error,
        )
        .unwrap_err()
        .to_string();
    assert!(
        rec_err.contains("column 'flag'") && rec_err.contains("true/false"),
        "{rec_err}"
    );
    // A typo in a numeric column is not a category.
    let t = table("a,y\n1,1\n2,2\nx3,3\n4,3\n");
    let m = err(Schema::fit(&t, &opts("y", MissingPolicy::Error)));
    assert!(
        m.contains("line 4, column 'a'") && m.contains("found 'x3'"),
        "{m}"
    );
    // ... unless named categorical.
    let mut so = opts("y", MissingPolicy::Error);
    so.categorical = vec!["a".into()];
    assert!(Schema::fit(&t, &so).is_ok());
}

#[test]
fn constant_columns_are_dropped_with_a_note_and_recorded() {
    let t = table("a,c,y\n1,7,1\n2,7,2\n3,7,3\n");
    let (schema, enc) = Schema::fit(&t, &opts("y", MissingPolicy::Error)).unwrap();
    assert_eq!(enc.data.feature_names, vec!["a"]);
    assert!(enc
        .notes
        .iter()
        .any(|n| n.contains("'c'") && n.contains("constant")));
    assert!(schema.dropped.iter().any(|d| d.name == "c"));
}

#[test]
fn text_targets_are_classes_with_names_and_missing_targets_are_dropped() {
    let mut s = String::from("x,kind\n");
    for i in 0..40 {
        let k = ["Gentoo", "Adelie"][i % 2];
        let k = if i == 5 { "NA" } else { k };
        s.push_str(&format!("{}, {k}\n", i % 2));
    }
    let t = table(&s.replace(", ", ","));
    let so = opts("kind", MissingPolicy::Error);
    let (schema, enc) = Schema::fit(&t, &so).unwrap();
    assert_eq!(schema.class_names().unwrap(), ["Adelie", "Gentoo"]);
    assert_eq!(enc.data.rows, 39);
    assert!(enc.notes.iter().any(|n| n.contains("missing target")));
    assert_eq!(enc.data.y[0], 1.0); // Gentoo
    let model = map_fit(&t, &so);
    assert_eq!(model.record.class_names(), vec!["Adelie", "Gentoo"]);
    let m = err(model
        .record
        .encode(&table("x,kind\n0,Chinstrap\n"), true, UnknownLevel::Error));
    assert!(
        m.contains("line 2, column 'kind'") && m.contains("'Chinstrap'"),
        "{m}"
    );
}

#[test]
fn parquet_and_csv_give_identical_fits() {
    let text = people(40);
    let csv = table(&text);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.parquet");
    let cols = table_columns(&csv);
    write_parquet(&path, &cols).unwrap();
    let pq = read_parquet(&path, &ReadOptions::default()).unwrap();
    // (Debug text, since NaN marks the missing cell and NaN != NaN.)
    assert_eq!(format!("{:?}", pq.columns), format!("{:?}", csv.columns));
    let so = opts("spend", MissingPolicy::Impute);
    let (a, b) = (map_fit(&csv, &so), map_fit(&pq, &so));
    assert_eq!(a.record.data.fingerprint, b.record.data.fingerprint);
    assert_eq!(a.posterior.center(), b.posterior.center());
    assert_eq!(a.record.schema, b.record.schema);
}

#[test]
fn records_without_a_schema_still_load_and_predict_by_column_name() {
    let t = table(&people(30));
    let mut so = opts("spend", MissingPolicy::Drop);
    so.features = Some(vec!["age".into(), "income".into()]);
    let model = map_fit(&t, &so);
    let mut v = serde_json::to_value(&model.record).unwrap();
    v.as_object_mut().unwrap().remove("schema");
    let old: FitRecord = serde_json::from_value(v).unwrap();
    assert!(old.schema.is_none());
    let enc = old
        .encode(&table("income,age\n50,30\n"), false, UnknownLevel::Error)
        .unwrap();
    assert_eq!(enc.data.x, vec![30.0, 50.0]);
}

#[test]
fn huge_magnitudes_are_standardised_without_overflow() {
    let mut s = String::from("a,y\n");
    for i in 0..20 {
        s.push_str(&format!("{}e307,{}\n", 10 + i % 7, i % 5));
    }
    let t = table(&s);
    let (_, enc) = Schema::fit(&t, &opts("y", MissingPolicy::Error)).unwrap();
    let st =
        credence::data::Standardizer::fit(&enc.data, true, credence::data::ConstantColumn::Error)
            .unwrap();
    assert!(st.x_mean[0].is_finite() && st.x_std[0].is_finite() && st.x_std[0] > 1e306);
    let x = st.transform_x(&enc.data).unwrap();
    assert!(x.iter().all(|v| v.is_finite() && v.abs() < 10.0));
}
