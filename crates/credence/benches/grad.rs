//! Criterion benches of the full-batch gradient (the grad_bench task, small, big and boston):
//! `cargo bench -p credence --bench grad`. `credence bench grad` runs the same cases with the
//! peer's iteration counts.

use credence::bench::grad::{GradCase, GradTask};
use credence::density::LogDensity;
use criterion::{criterion_group, criterion_main, Criterion};

fn grad(c: &mut Criterion) {
    let boston = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/bostonHousing");
    let mut cases = vec![GradCase::small(), GradCase::big()];
    cases.extend(GradCase::boston(&boston).ok());
    for case in cases {
        let mut model = case.model().expect("benchmark model");
        let mut g = vec![0.0; case.theta.len()];
        let mut group = c.benchmark_group(&case.name);
        if case.name == "big" {
            group.sample_size(20);
        }
        group.bench_function("f64 Model::logp_grad", |b| {
            b.iter(|| {
                model
                    .logp_grad(&case.theta, &mut g)
                    .expect("finite gradient")
            })
        });
        let mut task = GradTask::<f32>::new(&case);
        let th: Vec<f32> = case.theta.iter().map(|&v| v as f32).collect();
        let mut g32 = vec![0.0f32; th.len()];
        group.bench_function("f32 engine", |b| b.iter(|| task.value_grad(&th, &mut g32)));
        group.finish();
    }
}

criterion_group!(benches, grad);
criterion_main!(benches);
