//! Planning a create: hadoop-distributed's layout at 1,000 nodes, beside a brute-force planner
//! (every ordered pair of tasks checked against the rules, then layers found by rescanning)
//! where it can finish. Run with `just bench`.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use weft_planner::{ClusterAction, PlanNode, PlanRequest, PlanService, TaskKind, plan};
use weft_solver::{ClusterRequest, prepare, solve};

fn hadoop_request(nodes: u32) -> PlanRequest {
    let catalog = weft_testkit::coopr_catalog();
    let template =
        weft_catalog::resolve(&catalog.clustertemplates["hadoop-distributed"], &catalog).unwrap();
    let layout = solve(
        &prepare(
            &template,
            &ClusterRequest {
                num_machines: nodes,
                ..Default::default()
            },
            &catalog,
        )
        .unwrap(),
    )
    .unwrap();
    let mut plan_nodes = Vec::new();
    for group in &layout.groups {
        for _ in 0..group.count {
            plan_nodes.push(PlanNode {
                id: format!("node-{}", 1000 + plan_nodes.len()),
                services: group.services.clone(),
            });
        }
    }
    let services = layout
        .groups
        .iter()
        .flat_map(|g| &g.services)
        .map(|s| (s.clone(), PlanService::from_service(&catalog.services[s])))
        .collect();
    PlanRequest {
        action: ClusterAction::Create,
        nodes: plan_nodes,
        services,
    }
}

/// The obvious quadratic planner: all tasks, then every ordered pair checked, then layers.
fn brute_force_plan(request: &PlanRequest) -> usize {
    use TaskKind::*;
    let order = [
        Create, Confirm, Bootstrap, Install, Configure, Initialize, Start,
    ];
    let mut tasks: Vec<(usize, TaskKind, Option<&str>)> = Vec::new();
    for (n, node) in request.nodes.iter().enumerate() {
        for kind in [Create, Confirm, Bootstrap] {
            tasks.push((n, kind, None));
        }
        for service in &node.services {
            for kind in [Install, Configure, Initialize, Start] {
                if request.services[service]
                    .actions
                    .contains(&kind.service_action().unwrap())
                {
                    tasks.push((n, kind, Some(service)));
                }
            }
        }
    }
    let closure = |service: &str, runtime: bool| -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut todo = vec![service.to_string()];
        while let Some(next) = todo.pop() {
            if let Some(s) = request.services.get(&next) {
                for d in if runtime {
                    &s.runtime_deps
                } else {
                    &s.install_deps
                } {
                    if request.services.contains_key(d) && found.insert(d.clone()) {
                        todo.push(d.clone());
                    }
                }
            }
        }
        found
    };
    let deps: BTreeMap<&str, (BTreeSet<String>, BTreeSet<String>)> = request
        .services
        .keys()
        .map(|s| (s.as_str(), (closure(s, false), closure(s, true))))
        .collect();
    let rank = |k: TaskKind| order.iter().position(|o| *o == k).unwrap();
    let mut edges = Vec::new();
    for (i, a) in tasks.iter().enumerate() {
        for (j, b) in tasks.iter().enumerate() {
            let chained = a.0 == b.0 && rank(a.1) < rank(b.1) && (a.2.is_none() || a.2 == b.2);
            let crossed = match (a.1, b.1, a.2, b.2) {
                (Start, Start | Initialize, Some(d), Some(s)) => deps[s].1.contains(d),
                (Install, Install, Some(d), Some(s)) => deps[s].0.contains(d),
                _ => false,
            };
            if chained || crossed {
                edges.push((i, j));
            }
        }
    }
    let mut placed = vec![false; tasks.len()];
    let mut layers = 0;
    while placed.iter().any(|p| !p) {
        let ready: Vec<usize> = (0..tasks.len())
            .filter(|&t| !placed[t] && edges.iter().all(|(a, b)| *b != t || placed[*a]))
            .collect();
        for t in ready {
            placed[t] = true;
        }
        layers += 1;
    }
    layers
}

fn planner(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan-create");
    group.sample_size(10);
    for nodes in [20, 100, 1000] {
        let request = hadoop_request(nodes);
        group.bench_with_input(
            BenchmarkId::new("hadoop-distributed/weft", nodes),
            &request,
            |b, r| b.iter(|| plan(r).unwrap()),
        );
        if nodes <= 100 {
            group.bench_with_input(
                BenchmarkId::new("hadoop-distributed/brute-force", nodes),
                &request,
                |b, r| b.iter(|| brute_force_plan(r)),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, planner);
criterion_main!(benches);
