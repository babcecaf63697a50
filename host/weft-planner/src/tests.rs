//! Planner tests: Coopr's worked example, cycles, expansion, and properties of every plan.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashSet};

use proptest::prelude::*;
use weft_model::ServiceAction;

use crate::{
    ClusterAction, Plan, PlanError, PlanNode, PlanRequest, PlanService, Task, TaskKind, plan,
};

use ServiceAction as A;

fn service(
    name: &str,
    actions: &[ServiceAction],
    install: &[&str],
    runtime: &[&str],
) -> PlanService {
    PlanService {
        name: name.into(),
        actions: actions.iter().copied().collect(),
        install_deps: install.iter().map(|s| s.to_string()).collect(),
        runtime_deps: runtime.iter().map(|s| s.to_string()).collect(),
        provides: vec![],
    }
}

fn node(id: &str, services: &[&str]) -> PlanNode {
    PlanNode {
        id: id.into(),
        services: services.iter().map(|s| s.to_string()).collect(),
    }
}

fn request(action: ClusterAction, nodes: Vec<PlanNode>, services: Vec<PlanService>) -> PlanRequest {
    PlanRequest {
        action,
        nodes,
        services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
    }
}

fn find(plan: &Plan, kind: TaskKind, node: &str, service: Option<&str>) -> usize {
    let wanted = Task {
        kind,
        node: node.into(),
        service: service.map(str::to_string),
    };
    plan.tasks
        .iter()
        .position(|t| *t == wanted)
        .unwrap_or_else(|| panic!("no task {wanted:?}"))
}

fn predecessors(plan: &Plan, task: usize) -> BTreeSet<usize> {
    plan.predecessors(task)
}

fn reaches(plan: &Plan, from: usize, to: usize) -> bool {
    let mut todo = vec![from];
    let mut seen = HashSet::new();
    while let Some(next) = todo.pop() {
        if next == to {
            return true;
        }
        if seen.insert(next) {
            todo.extend(plan.successors(next));
        }
    }
    false
}

/// coopr-notes §4.3 (`testCreateTaskDag`).
#[test]
fn coopr_worked_example_dag() {
    let services = vec![
        service("s1", &[A::Configure, A::Start], &[], &[]),
        service("s2", &[A::Install, A::Configure], &[], &["s1"]),
        service(
            "s3",
            &[A::Install, A::Configure, A::Initialize, A::Start],
            &[],
            &["s1", "s2"],
        ),
    ];
    let plan = plan(&request(
        ClusterAction::Create,
        vec![node("node1", &["s1"]), node("node2", &["s1", "s2", "s3"])],
        services,
    ))
    .unwrap();
    use TaskKind::*;
    let s1_start: BTreeSet<usize> = [
        find(&plan, Start, "node1", Some("s1")),
        find(&plan, Start, "node2", Some("s1")),
    ]
    .into();
    for kind in [Initialize, Start] {
        let task = find(&plan, kind, "node2", Some("s3"));
        let cross: BTreeSet<usize> = predecessors(&plan, task)
            .into_iter()
            .filter(|p| plan.tasks[*p].service.as_deref() == Some("s1"))
            .collect();
        assert_eq!(
            cross, s1_start,
            "{kind:?} of s3 waits for s1's START on both nodes"
        );
    }
    // per-node chains
    for (a, b) in [
        (
            find(&plan, Create, "node2", None),
            find(&plan, Confirm, "node2", None),
        ),
        (
            find(&plan, Confirm, "node2", None),
            find(&plan, Bootstrap, "node2", None),
        ),
        (
            find(&plan, Bootstrap, "node2", None),
            find(&plan, Install, "node2", Some("s3")),
        ),
        (
            find(&plan, Bootstrap, "node1", None),
            find(&plan, Configure, "node1", Some("s1")),
        ),
        (
            find(&plan, Install, "node2", Some("s3")),
            find(&plan, Configure, "node2", Some("s3")),
        ),
        (
            find(&plan, Configure, "node2", Some("s3")),
            find(&plan, Initialize, "node2", Some("s3")),
        ),
    ] {
        assert!(
            plan.predecessors(b).contains(&a),
            "{:?} -> {:?}",
            plan.tasks[a],
            plan.tasks[b]
        );
    }
    assert_eq!(
        plan.tasks.len(),
        3 * 2 + 2 + 2 + 2 + 4,
        "tasks only for defined actions"
    );
    check_stages(&plan);
}

#[test]
fn cycles_are_named() {
    let services = vec![
        service("a", &[A::Start], &[], &["b"]),
        service("b", &[A::Start], &[], &["c"]),
        service("c", &[A::Start], &[], &["a"]),
    ];
    let error = plan(&request(
        ClusterAction::Create,
        vec![node("n", &["a", "b", "c"])],
        services,
    ))
    .unwrap_err();
    assert_eq!(
        error,
        PlanError::Cycle {
            kind: "runtime",
            services: vec!["a".into(), "b".into(), "c".into(), "a".into()]
        }
    );
    assert!(error.to_string().contains("a -> b -> c -> a"));
}

fn three_tier() -> Vec<PlanService> {
    let all = [
        A::Install,
        A::Configure,
        A::Initialize,
        A::Start,
        A::Stop,
        A::Remove,
    ];
    vec![
        service("db", &all, &[], &[]),
        service("app", &all, &["db"], &["db"]),
        service("web", &all, &[], &["app"]),
        service("tool", &all, &[], &[]),
    ]
}

fn planned(plan: &Plan) -> BTreeSet<(TaskKind, String)> {
    plan.tasks
        .iter()
        .filter_map(|t| t.service.clone().map(|s| (t.kind, s)))
        .collect()
}

#[test]
fn start_stop_and_restart_expand_along_runtime_dependencies() {
    let nodes = vec![node("n1", &["db", "tool"]), node("n2", &["app", "web"])];
    let of = |action| planned(&plan(&request(action, nodes.clone(), three_tier())).unwrap());
    let names = |kind, list: &[&str]| {
        list.iter()
            .map(|s| (kind, s.to_string()))
            .collect::<BTreeSet<_>>()
    };
    use TaskKind::*;
    assert_eq!(
        of(ClusterAction::StartServices(Some(vec!["app".into()]))),
        names(Start, &["app", "db"])
    );
    assert_eq!(
        of(ClusterAction::StopServices(Some(vec!["app".into()]))),
        names(Stop, &["app", "web"])
    );
    let restart = of(ClusterAction::RestartServices(Some(vec!["db".into()])));
    assert_eq!(
        restart,
        names(Stop, &["app", "db", "web"])
            .union(&names(Start, &["app", "db", "web"]))
            .cloned()
            .collect()
    );
    assert_eq!(
        plan(&request(
            ClusterAction::StartServices(Some(vec!["ghost".into()])),
            nodes.clone(),
            three_tier()
        ))
        .unwrap_err(),
        PlanError::UnknownService("ghost".into())
    );
    // stop runs dependents first: web before app before db
    let stop = plan(&request(
        ClusterAction::StopServices(None),
        nodes.clone(),
        three_tier(),
    ))
    .unwrap();
    assert!(reaches(
        &stop,
        find(&stop, Stop, "n2", Some("web")),
        find(&stop, Stop, "n1", Some("db"))
    ));
    // removal honours install dependencies in reverse: app is removed before db
    let remove = plan(&request(
        ClusterAction::RemoveServices(vec!["db".into(), "app".into()]),
        nodes.clone(),
        three_tier(),
    ))
    .unwrap();
    assert_eq!(
        planned(&remove),
        names(Stop, &["app", "db"])
            .union(&names(Remove, &["app", "db"]))
            .cloned()
            .collect()
    );
    assert!(reaches(
        &remove,
        find(&remove, Remove, "n2", Some("app")),
        find(&remove, Remove, "n1", Some("db"))
    ));
}

#[test]
fn add_services_and_add_nodes_plan_only_what_changes() {
    let nodes = vec![
        node("n1", &["db", "tool"]),
        node("n2", &["app", "web"]),
        node("n3", &["app", "web"]),
    ];
    use TaskKind::*;
    let added = plan(&request(
        ClusterAction::AddServices {
            services: vec!["tool".into()],
            nodes: ["n1".to_string()].into(),
        },
        nodes.clone(),
        three_tier(),
    ))
    .unwrap();
    let kinds: Vec<(TaskKind, String, Option<String>)> = added
        .tasks
        .iter()
        .map(|t| (t.kind, t.node.clone(), t.service.clone()))
        .collect();
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    assert!(
        kinds
            .iter()
            .all(|(_, n, s)| n == "n1" && s.as_deref() != Some("db"))
    );
    let grown = plan(&request(
        ClusterAction::AddNodes(["n3".to_string()].into()),
        nodes,
        three_tier(),
    ))
    .unwrap();
    assert!(
        grown
            .tasks
            .iter()
            .filter(|t| t.node == "n3")
            .any(|t| t.kind == Create)
    );
    assert!(
        grown
            .tasks
            .iter()
            .filter(|t| t.node != "n3")
            .all(|t| t.kind == Configure),
        "existing nodes only reconfigure"
    );
    let confirm = find(&grown, Confirm, "n3", None);
    assert!(reaches(
        &grown,
        confirm,
        find(&grown, Configure, "n1", Some("db"))
    ));
    check_stages(&grown);
}

#[test]
fn provides_stands_for_its_providers() {
    let mut mysql = service("mysql", &[A::Install, A::Start], &[], &[]);
    mysql.provides = vec!["database".into()];
    let app = service("app", &[A::Install, A::Start], &["database"], &["database"]);
    let plan = plan(&request(
        ClusterAction::Create,
        vec![node("n1", &["mysql"]), node("n2", &["app"])],
        vec![mysql, app],
    ))
    .unwrap();
    use TaskKind::*;
    assert!(
        plan.predecessors(find(&plan, Install, "n2", Some("app")))
            .contains(&find(&plan, Install, "n1", Some("mysql")))
    );
    assert!(
        plan.predecessors(find(&plan, Start, "n2", Some("app")))
            .contains(&find(&plan, Start, "n1", Some("mysql")))
    );
}

/// Every task is in exactly one stage, no stage holds two tasks of one node, and every edge goes
/// from an earlier stage to a later one.
fn check_stages(plan: &Plan) {
    let mut stage_of = vec![usize::MAX; plan.tasks.len()];
    for (i, stage) in plan.stages.iter().enumerate() {
        let nodes: BTreeSet<&str> = stage.iter().map(|t| plan.tasks[*t].node.as_str()).collect();
        assert_eq!(
            nodes.len(),
            stage.len(),
            "stage {i} has two tasks on one node"
        );
        for &task in stage {
            assert_eq!(stage_of[task], usize::MAX, "task in two stages");
            stage_of[task] = i;
        }
    }
    assert!(
        stage_of.iter().all(|s| *s != usize::MAX),
        "every task is staged"
    );
    for b in 0..plan.tasks.len() {
        for a in plan.predecessors(b) {
            assert!(
                stage_of[a] < stage_of[b],
                "edge {:?} -> {:?} goes backwards",
                plan.tasks[a],
                plan.tasks[b]
            );
        }
    }
}

fn transitive(
    services: &BTreeMap<String, PlanService>,
    name: &str,
    runtime: bool,
) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut todo = vec![name.to_string()];
    while let Some(next) = todo.pop() {
        if let Some(s) = services.get(&next) {
            for d in if runtime {
                &s.runtime_deps
            } else {
                &s.install_deps
            } {
                if found.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
    }
    found
}

fn random_cluster() -> impl Strategy<Value = PlanRequest> {
    let names = ["a", "b", "c", "d", "e", "f"];
    // dependencies only on later names: acyclic by construction
    let service = |i: usize| {
        let later: Vec<&'static str> = names[i + 1..].to_vec();
        (
            prop::sample::subsequence(
                vec![
                    A::Install,
                    A::Configure,
                    A::Initialize,
                    A::Start,
                    A::Stop,
                    A::Remove,
                ],
                0..=6,
            ),
            prop::sample::subsequence(later.clone(), 0..=later.len().min(2)),
            prop::sample::subsequence(later.clone(), 0..=later.len().min(2)),
        )
            .prop_map(move |(actions, install, runtime)| {
                service(names[i], &actions, &install, &runtime)
            })
    };
    let services: Vec<_> = (0..names.len()).map(service).collect();
    (
        services,
        prop::collection::vec(prop::sample::subsequence(names.to_vec(), 1..=4), 1..=5),
        0usize..5,
    )
        .prop_map(|(services, placements, action)| {
            let nodes: Vec<PlanNode> = placements
                .iter()
                .enumerate()
                .map(|(i, s)| node(&format!("n{i}"), s))
                .collect();
            let action = match action {
                0 => ClusterAction::Create,
                1 => ClusterAction::ConfigureWithRestart,
                2 => ClusterAction::RestartServices(None),
                3 => ClusterAction::Delete,
                _ => ClusterAction::RemoveServices(nodes[0].services.clone()),
            };
            request(action, nodes, services)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_plan_respects_every_dependency_rule(request in random_cluster()) {
        let plan = plan(&request).unwrap();
        check_stages(&plan);
        use TaskKind::*;
        let order: &[TaskKind] = match request.action {
            ClusterAction::Create => &[Create, Confirm, Bootstrap, Install, Configure, Initialize, Start],
            ClusterAction::ConfigureWithRestart => &[Bootstrap, Stop, Configure, Start],
            ClusterAction::RestartServices(_) => &[Stop, Start],
            ClusterAction::RemoveServices(_) => &[Stop, Remove],
            _ => &[Delete],
        };
        let tasks_of = |kind: TaskKind, service: &str| -> Vec<usize> {
            plan.tasks.iter().enumerate().filter(|(_, t)| t.kind == kind && t.service.as_deref() == Some(service)).map(|(i, _)| i).collect()
        };
        for (i, task) in plan.tasks.iter().enumerate() {
            let Some(service) = &task.service else { continue };
            // (earlier kind on the dependency, runtime?, dependency first?)
            let rules: &[(TaskKind, bool, bool)] = match task.kind {
                Start | Initialize => &[(Start, true, true)],
                Install => &[(Install, false, true)],
                Stop => &[(Stop, true, false)],
                Remove => &[(Remove, false, false)],
                _ => &[],
            };
            for &(kind, runtime, first) in rules {
                for dependency in transitive(&request.services, service, runtime) {
                    for other in tasks_of(kind, &dependency) {
                        let (from, to) = if first { (other, i) } else { (i, other) };
                        prop_assert!(reaches(&plan, from, to), "{:?} must come before {:?}", plan.tasks[from], plan.tasks[to]);
                    }
                }
            }
            // the per-node chain: this service's earlier task on this node (in the action's order) comes first
            let position = order.iter().position(|k| *k == task.kind).unwrap();
            if let Some(earlier) = order[..position].iter().rev().find_map(|k| {
                plan.tasks.iter().position(|t| t.kind == *k && t.node == task.node && (t.service == task.service || k.is_node_task()))
            }) {
                prop_assert!(reaches(&plan, earlier, i), "{:?} must come before {:?}", plan.tasks[earlier], task);
            }
        }
    }
}

/// Coopr's "on every node that has the dependency" would make 500 × 500 edges here; barriers
/// keep the plan linear in the number of tasks.
#[test]
fn plans_stay_linear_in_size() {
    let all = [A::Install, A::Configure, A::Start];
    let services = vec![
        service("base", &all, &[], &[]),
        service("app", &all, &["base"], &["base"]),
    ];
    let nodes: Vec<PlanNode> = (0..500)
        .map(|i| node(&format!("n{i}"), &["base", "app"]))
        .collect();
    let plan = plan(&request(ClusterAction::Create, nodes, services)).unwrap();
    let size = plan.edges.len()
        + plan
            .barriers
            .iter()
            .map(|b| b.before.len() + b.after.len())
            .sum::<usize>();
    assert!(
        size <= 3 * plan.tasks.len(),
        "{size} edges and barrier links for {} tasks",
        plan.tasks.len()
    );
    let install_app = find(&plan, TaskKind::Install, "n7", Some("app"));
    assert_eq!(
        predecessors(&plan, install_app).len(),
        501,
        "its own node's bootstrap and base's install on all 500 nodes"
    );
    check_stages(&plan);
}
