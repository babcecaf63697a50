//! Layout solving: Coopr's hadoop-distributed at 10,000 nodes and a generated template with 30
//! constrained services, each beside the exhaustive reference where it can finish.
//! Run with `just bench` (figures go to docs/benchmarks.md by hand).
#![allow(clippy::unwrap_used)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use weft_solver::testing::{brute_force, thirty_services};
use weft_solver::{ClusterRequest, Problem, prepare, solve};

fn hadoop(nodes: u32) -> Problem {
    let catalog = weft_testkit::coopr_catalog();
    let template =
        weft_catalog::resolve(&catalog.clustertemplates["hadoop-distributed"], &catalog).unwrap();
    prepare(
        &template,
        &ClusterRequest {
            num_machines: nodes,
            ..Default::default()
        },
        &catalog,
    )
    .unwrap()
}

fn solver(c: &mut Criterion) {
    let mut group = c.benchmark_group("solve");
    group.sample_size(20);
    for nodes in [12, 10_000] {
        let problem = hadoop(nodes);
        group.bench_with_input(
            BenchmarkId::new("hadoop-distributed/weft", nodes),
            &problem,
            |b, p| b.iter(|| solve(p).unwrap()),
        );
        if nodes <= 12 {
            // the reference tries count vectors from the greatest down: quadratic in nodes here
            group.bench_with_input(
                BenchmarkId::new("hadoop-distributed/brute-force", nodes),
                &problem,
                |b, p| b.iter(|| brute_force(p).unwrap()),
            );
        }
    }
    let problem = thirty_services(10_000);
    group.bench_with_input(
        BenchmarkId::new("thirty-services/weft", 10_000),
        &problem,
        |b, p| b.iter(|| solve(p).unwrap()),
    );
    // the reference would enumerate 2^30 service sets: it cannot finish, so it is not run here
    group.finish();
}

criterion_group!(benches, solver);
criterion_main!(benches);
