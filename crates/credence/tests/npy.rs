//! The NumPy `.npy` reader: round trips through files written here by hand (every dtype, both
//! byte orders, versions 1.0/2.0/3.0, C and Fortran order), files written by NumPy
//! (`tests/data/npy/make.py`), every malformed case as a typed error, and image tables and
//! datasets with their input shape.

use credence::data::npy::{
    npy_table, parse_npy, read_npy, read_npy_dataset, read_npy_table, NpyDtype, NpyProblem,
};
use credence::data::{read_table, Dataset, ReadOptions, Schema, SchemaOptions};
use credence::Error;
use std::path::PathBuf;

/// A `.npy` file: the header dict padded to a multiple of 64 bytes, then `data`.
fn npy(version: u8, descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let f = if fortran { "True" } else { "False" };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {tuple}, }}");
    let len_bytes = if version == 1 { 2 } else { 4 };
    while (8 + len_bytes + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version, 0]);
    if version == 1 {
        out.extend((h.len() as u16).to_le_bytes());
    } else {
        out.extend((h.len() as u32).to_le_bytes());
    }
    out.extend(h.as_bytes());
    out.extend(data);
    out
}

fn problem(r: credence::Result<impl std::fmt::Debug>) -> (String, NpyProblem) {
    match r {
        Err(Error::Npy { file, problem }) => (file, problem),
        other => panic!("expected an Npy error, found {other:?}"),
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/npy")
        .join(name)
}

#[test]
fn every_dtype_round_trips_in_both_byte_orders() {
    let vals = [-3.0f64, 0.0, 1.0, 2.0, 100.0, -7.0];
    type Enc = fn(f64, bool) -> Vec<u8>;
    let cases: Vec<(&str, NpyDtype, Enc)> = vec![
        ("f4", NpyDtype::F4, |v, b| {
            let x = v as f32;
            if b {
                x.to_be_bytes().to_vec()
            } else {
                x.to_le_bytes().to_vec()
            }
        }),
        ("f8", NpyDtype::F8, |v, b| {
            if b {
                v.to_be_bytes().to_vec()
            } else {
                v.to_le_bytes().to_vec()
            }
        }),
        ("i1", NpyDtype::Int(1), |v, _| {
            (v as i8).to_le_bytes().to_vec()
        }),
        ("i2", NpyDtype::Int(2), |v, b| {
            let x = v as i16;
            if b {
                x.to_be_bytes().to_vec()
            } else {
                x.to_le_bytes().to_vec()
            }
        }),
        ("i4", NpyDtype::Int(4), |v, b| {
            let x = v as i32;
            if b {
                x.to_be_bytes().to_vec()
            } else {
                x.to_le_bytes().to_vec()
            }
        }),
        ("i8", NpyDtype::Int(8), |v, b| {
            let x = v as i64;
            if b {
                x.to_be_bytes().to_vec()
            } else {
                x.to_le_bytes().to_vec()
            }
        }),
    ];
    for (code, dtype, enc) in cases {
        for big in [false, true] {
            let data: Vec<u8> = vals.iter().flat_map(|&v| enc(v, big)).collect();
            let descr = format!("{}{code}", if big { '>' } else { '<' });
            for version in [1, 2, 3] {
                let a = parse_npy("t.npy", &npy(version, &descr, false, &[2, 3], &data)).unwrap();
                assert_eq!(a.shape, vec![2, 3], "{descr} v{version}");
                assert_eq!(a.dtype, dtype);
                assert_eq!(a.data, vals, "{descr} v{version}");
            }
        }
    }
    // Unsigned: the high bit is a value, not a sign.
    let u: [(&str, Vec<u8>, f64); 4] = [
        ("|u1", vec![255], 255.0),
        ("<u2", 65535u16.to_le_bytes().to_vec(), 65535.0),
        (">u4", 4_000_000_000u32.to_be_bytes().to_vec(), 4e9),
        ("<u8", (1u64 << 63).to_le_bytes().to_vec(), 2f64.powi(63)),
    ];
    for (descr, bytes, want) in u {
        let a = parse_npy("u.npy", &npy(1, descr, false, &[1], &bytes)).unwrap();
        assert_eq!(a.data, vec![want], "{descr}");
    }
    let b = parse_npy("b.npy", &npy(1, "|b1", false, &[3], &[0, 1, 0])).unwrap();
    assert_eq!((b.dtype, b.data), (NpyDtype::Bool, vec![0.0, 1.0, 0.0]));
}

#[test]
fn fortran_order_is_reordered_to_c_order() {
    // The 2×3 array [[0, 1, 2], [3, 4, 5]] stored column by column: 0 3 1 4 2 5.
    let data: Vec<u8> = [0.0f64, 3.0, 1.0, 4.0, 2.0, 5.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let a = parse_npy("f.npy", &npy(1, "<f8", true, &[2, 3], &data)).unwrap();
    assert!(a.fortran_order);
    assert_eq!(a.data, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    // Three dimensions: element (i, j, k) of shape (2, 2, 2) sits at i + 2j + 4k.
    let mut f = [0.0f64; 8];
    for i in 0..2 {
        for j in 0..2 {
            for k in 0..2 {
                f[i + 2 * j + 4 * k] = (4 * i + 2 * j + k) as f64;
            }
        }
    }
    let data: Vec<u8> = f.iter().flat_map(|v| v.to_le_bytes()).collect();
    let a = parse_npy("f3.npy", &npy(2, "<f8", true, &[2, 2, 2], &data)).unwrap();
    assert_eq!(a.data, (0..8).map(f64::from).collect::<Vec<_>>());
}

#[test]
fn files_written_by_numpy_read_back() {
    let iota = |n: usize| (0..n).map(|i| i as f64).collect::<Vec<_>>();
    let a = read_npy(&fixture("nchw_f4.npy")).unwrap();
    assert_eq!((a.shape.clone(), a.dtype), (vec![2, 3, 2, 2], NpyDtype::F4));
    assert_eq!(a.data, iota(24));
    let a = read_npy(&fixture("nhw_f8_big.npy")).unwrap();
    assert_eq!((a.shape.clone(), a.data.clone()), (vec![3, 2, 2], iota(12)));
    let a = read_npy(&fixture("nd_fortran_f8.npy")).unwrap();
    assert!(a.fortran_order);
    assert_eq!((a.shape.clone(), a.data.clone()), (vec![4, 3], iota(12)));
    let a = read_npy(&fixture("nd_i2_v2.npy")).unwrap();
    assert_eq!((a.dtype, a.data.clone()), (NpyDtype::Int(2), iota(12)));
    let a = read_npy(&fixture("nd_u1_v3.npy")).unwrap();
    assert_eq!((a.dtype, a.data.clone()), (NpyDtype::Uint(1), iota(12)));
    let a = read_npy(&fixture("neg_i1.npy")).unwrap();
    assert_eq!(a.data, vec![-128.0, -1.0, 0.0, 127.0]);
    let a = read_npy(&fixture("labels4_bool.npy")).unwrap();
    assert_eq!(a.data, vec![0.0, 1.0, 0.0, 1.0]);
    let (file, p) = problem(read_npy(&fixture("object.npy")));
    assert!(file.ends_with("object.npy"), "{file}");
    assert!(matches!(p, NpyProblem::Object(ref d) if d == "|O"), "{p:?}");
}

#[test]
fn channel_first_images_become_channel_last_rows_with_their_shape() {
    // nchw_f4: image n, channel c, pixel p = (h, w) holds 12n + 4c + p.
    let t = read_npy_table(
        &fixture("nchw_f4.npy"),
        Some(&fixture("labels_i8.npy")),
        "digit",
    )
    .unwrap();
    assert_eq!(t.input_shape, Some(vec![3, 2, 2]));
    assert_eq!(t.rows(), 2);
    assert_eq!(t.cols(), 13);
    assert_eq!(t.names[0], "pixel_0");
    assert_eq!(t.names[12], "digit");
    for n in 0..2 {
        for p in 0..4 {
            for c in 0..3 {
                let v = t.get(n, p * 3 + c);
                assert_eq!(v, (12 * n + 4 * c + p) as f64, "n {n} p {p} c {c}");
            }
        }
    }
    let d = Dataset::from_table(&t, "digit", None).unwrap();
    assert_eq!(d.input_shape, Some(vec![3, 2, 2]));
    assert_eq!(d.y, vec![0.0, 1.0]);
    // A selection of pixels is not an image any more.
    let some = ["pixel_0".to_string(), "pixel_1".to_string()];
    let d = Dataset::from_table(&t, "digit", Some(&some)).unwrap();
    assert_eq!(d.input_shape, None);
    // The schema (what `credence fit` uses) keeps the shape, and the subset keeps it too.
    let opts = SchemaOptions {
        targets: vec!["digit".into()],
        ..SchemaOptions::default()
    };
    let (_, enc) = Schema::fit(&t, &opts).unwrap();
    assert_eq!(enc.data.input_shape, Some(vec![3, 2, 2]));
    assert_eq!(enc.data.subset(&[1]).input_shape, Some(vec![3, 2, 2]));
}

#[test]
fn shapes_and_labels_of_every_layout() {
    let t = read_npy_table(
        &fixture("nhw_f8_big.npy"),
        Some(&fixture("labels3_u4_big.npy")),
        "label",
    )
    .unwrap();
    assert_eq!(t.input_shape, Some(vec![1, 2, 2]));
    let d = read_npy_dataset(&fixture("nd_fortran_f8.npy"), &fixture("labels4_n1_i4.npy")).unwrap();
    assert_eq!(d.input_shape, Some(vec![1, 3]));
    assert_eq!(d.features, 3);
    assert_eq!(d.row(1), &[3.0, 4.0, 5.0]);
    assert_eq!(d.y, vec![0.0, 1.0, 2.0, 1.0]);
    assert_eq!(d.class_count().unwrap(), 3);
    // `read_table` reads a features file alone (for `credence predict --data X.npy`).
    let t = read_table(&fixture("nd_i2_v2.npy"), &ReadOptions::default()).unwrap();
    assert_eq!((t.rows(), t.cols()), (4, 3));
    assert_eq!(t.input_shape, Some(vec![1, 3]));
}

#[test]
fn wrong_label_shapes_and_bad_values_name_the_file() {
    let (file, p) = problem(read_npy_table(
        &fixture("nchw_f4.npy"),
        Some(&fixture("labels4_bool.npy")),
        "label",
    ));
    assert!(file.ends_with("labels4_bool.npy"), "{file}");
    assert!(
        matches!(&p, NpyProblem::Shape(m) if m.contains("(2,)") && m.contains("[4]")),
        "{p:?}"
    );
    let x: Vec<u8> = [1.0f64, f64::NAN]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let a = parse_npy("nan.npy", &npy(1, "<f8", false, &[2, 1], &x)).unwrap();
    let (_, p) = problem(npy_table(("nan.npy", &a), None, "label"));
    assert!(
        matches!(
            p,
            NpyProblem::NotFinite {
                index: 1,
                row: 2,
                ..
            }
        ),
        "{p:?}"
    );
    for shape in [vec![4usize], vec![1, 1, 1, 2, 2]] {
        let data = vec![0u8; 4];
        let a = parse_npy("s.npy", &npy(1, "|u1", false, &shape, &data)).unwrap();
        let (_, p) = problem(npy_table(("s.npy", &a), None, "label"));
        assert!(
            matches!(&p, NpyProblem::Shape(m) if m.contains("expected N×D")),
            "{p:?}"
        );
    }
    let a = parse_npy("e.npy", &npy(1, "|u1", false, &[0, 4], &[])).unwrap();
    let (_, p) = problem(npy_table(("e.npy", &a), None, "label"));
    assert!(
        matches!(&p, NpyProblem::Shape(m) if m.contains("no values")),
        "{p:?}"
    );
}

#[test]
fn every_malformed_file_is_a_typed_error() {
    let good = npy(1, "<f8", false, &[2], &[0u8; 16]);
    assert!(parse_npy("g.npy", &good).is_ok());
    type Case = (&'static str, Vec<u8>, fn(&NpyProblem) -> bool);
    let cases: Vec<Case> = vec![
        ("empty", vec![], |p| {
            matches!(p, NpyProblem::TruncatedHeader { found: 0, .. })
        }),
        ("magic only", b"\x93NUMPY".to_vec(), |p| {
            matches!(p, NpyProblem::TruncatedHeader { .. })
        }),
        (
            "bad magic",
            b"PK\x03\x04 not numpy at all".to_vec(),
            |p| matches!(p, NpyProblem::BadMagic { found } if found.contains("PK")),
        ),
        (
            "version 4.0",
            {
                let mut v = good.clone();
                v[6] = 4;
                v
            },
            |p| matches!(p, NpyProblem::Version { major: 4, minor: 0 }),
        ),
        ("v2 length cut", good[..10].to_vec(), |p| {
            matches!(p, NpyProblem::TruncatedHeader { .. })
        }),
        ("header cut", good[..40].to_vec(), |p| {
            matches!(
                p,
                NpyProblem::TruncatedHeader {
                    expected: 128,
                    found: 40
                }
            )
        }),
        ("data cut", good[..good.len() - 3].to_vec(), |p| {
            matches!(p, NpyProblem::SizeMismatch { found: 13, .. })
        }),
        ("data too long", [good.clone(), vec![0; 8]].concat(), |p| {
            matches!(p, NpyProblem::SizeMismatch { found: 24, .. })
        }),
        (
            "shape overflow",
            npy(1, "<f8", false, &[usize::MAX, 4], &[]),
            |p| matches!(p, NpyProblem::SizeMismatch { expected, .. } if expected.contains("2^64")),
        ),
        (
            "float16",
            npy(1, "<f2", false, &[2], &[0; 4]),
            |p| matches!(p, NpyProblem::Dtype(d) if d == "<f2"),
        ),
        ("complex", npy(1, "<c16", false, &[1], &[0; 16]), |p| {
            matches!(p, NpyProblem::Dtype(_))
        }),
        ("string", npy(1, "<U3", false, &[1], &[0; 12]), |p| {
            matches!(p, NpyProblem::Dtype(_))
        }),
        ("object", npy(1, "|O", false, &[1], &[0; 8]), |p| {
            matches!(p, NpyProblem::Object(_))
        }),
        (
            "structured",
            {
                let h = "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }\n";
                let mut v = b"\x93NUMPY\x01\x00".to_vec();
                v.extend((h.len() as u16).to_le_bytes());
                v.extend(h.as_bytes());
                v.extend([0u8; 8]);
                v
            },
            |p| matches!(p, NpyProblem::Dtype(d) if d.contains("structured")),
        ),
    ];
    for (name, bytes, check) in cases {
        let (file, p) = problem(parse_npy("bad.npy", &bytes));
        assert_eq!(file, "bad.npy", "{name}");
        assert!(check(&p), "{name}: {p:?}");
        let msg = Error::Npy { file, problem: p }.to_string();
        assert!(msg.starts_with("bad.npy: "), "{name}: {msg}");
    }
}

#[test]
fn malformed_headers_say_what_was_expected() {
    let with_header = |h: &str| {
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((h.len() as u16).to_le_bytes());
        out.extend(h.as_bytes());
        out
    };
    let cases = [
        ("'descr': '<f8'", "braces"),
        (
            "{'descr': '<f8', 'fortran_order': False}",
            "'shape' is missing",
        ),
        (
            "{'fortran_order': False, 'shape': (1,)}",
            "'descr' is missing",
        ),
        (
            "{'descr': '<f8', 'shape': (1,)}",
            "'fortran_order' is missing",
        ),
        (
            "{'descr': '<f8', 'fortran_order': Maybe, 'shape': ()}",
            "True or False",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
            "non-negative",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,}",
            "not closed",
        ),
        (
            "{'descr': '<f8, 'fortran_order': False, 'shape': (1,)}",
            "expected",
        ),
        (
            "{'descr': '<f8', 'colour': 'blue'}",
            "unexpected key 'colour'",
        ),
        ("{'descr': '<f8' 'shape': (1,)}", "expected ','"),
        (
            "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (0,)}",
            "",
        ),
    ];
    for (h, want) in cases {
        let r = parse_npy("h.npy", &with_header(h));
        if want.is_empty() {
            assert_eq!(r.unwrap().data.len(), 0, "{h}");
            continue;
        }
        let (_, p) = problem(r);
        assert!(
            matches!(&p, NpyProblem::Header(m) if m.contains(want)),
            "{h}: {p:?}"
        );
    }
    let mut bin = with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (0,)}");
    bin[12] = 0xff;
    let (_, p) = problem(parse_npy("h.npy", &bin));
    assert!(
        matches!(&p, NpyProblem::Header(m) if m.contains("ASCII")),
        "{p:?}"
    );
}

#[test]
fn input_shape_must_match_the_feature_columns() {
    let d = Dataset::from_arrays((0..8).map(f64::from).collect(), vec![0.0, 1.0], 4).unwrap();
    assert_eq!(
        d.clone().with_input_shape(&[1, 2, 2]).unwrap().input_shape,
        Some(vec![1, 2, 2])
    );
    assert_eq!(
        d.clone().with_input_shape(&[2, 2]).unwrap().input_shape,
        Some(vec![2, 2])
    );
    let m = d
        .clone()
        .with_input_shape(&[1, 3, 3])
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("1×3×3 = 9") && m.contains("4 feature columns"),
        "{m}"
    );
    for bad in [&[4usize][..], &[1, 1, 2, 2], &[0, 4, 1]] {
        let m = d.clone().with_input_shape(bad).unwrap_err().to_string();
        assert!(
            m.contains("expected [channels, height, width]"),
            "{bad:?}: {m}"
        );
    }
}
