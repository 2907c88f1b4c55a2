//! `credence bench grad`: the peers' tanh cases with their check values, other activations
//! without them, and a clean error for an unknown one.

mod common;
use common::{fails, ok};

#[test]
fn bench_grad_checks_tanh_and_times_other_activations() {
    let small = [
        "bench",
        "grad",
        "--cases",
        "small",
        "--scale",
        "0.001",
        "--repeats",
        "1",
    ];
    let tanh = ok(&[&small[..], &["--json"]].concat());
    let v: serde_json::Value = serde_json::from_str(tanh.lines().last().unwrap()).unwrap();
    let text = v.to_string();
    assert!(
        text.contains("1662.21") || text.contains("1.662212"),
        "{text}"
    );
    let gelu = ok(&[&small[..], &["--activation", "gelu"]].concat());
    assert!(gelu.contains("gelu MLP"), "{gelu}");
    // No check values for GELU: the expected columns are dashes.
    let row = gelu.lines().find(|l| l.starts_with("small")).unwrap();
    assert_eq!(row.matches('—').count(), 2, "{row}");
    let e = fails(&[&small[..], &["--activation", "swish"]].concat());
    assert!(e.contains("--activation") && e.contains("swish"), "{e}");
}
