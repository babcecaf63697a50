//! Building the DAG: per-node chains in the action's order, then cross-service edges
//! (coopr-notes §4.2): START(dep) → START and INITIALIZE(svc) for runtime dependencies,
//! STOP(svc) → STOP(dep) reversed, INSTALL(dep) → INSTALL(svc), and — new in Weft —
//! REMOVE(svc) → REMOVE(dep), each from the dependency's task on every node that has it.

use std::collections::{BTreeSet, HashMap, HashSet};

use petgraph::graph::{DiGraph, NodeIndex};
use weft_model::ServiceAction;

use crate::dependencies::{DepKind, Dependencies};
use crate::stages::layer;
use crate::{ClusterAction, Plan, PlanError, PlanRequest, Task, TaskKind};

use TaskKind::*;

const CREATE_ORDER: &[TaskKind] = &[
    Create, Confirm, Bootstrap, Install, Configure, Initialize, Start,
];

/// Plans `request.action` over the cluster.
pub fn plan(request: &PlanRequest) -> Result<Plan, PlanError> {
    let deps = Dependencies::new(&request.services)?;
    let all: BTreeSet<&str> = request
        .nodes
        .iter()
        .flat_map(|n| n.services.iter().map(String::as_str))
        .collect();
    let named = |services: &Option<Vec<String>>| -> Result<Option<BTreeSet<String>>, PlanError> {
        match services {
            None => Ok(None),
            Some(list) => {
                if let Some(unknown) = list.iter().find(|s| !all.contains(s.as_str())) {
                    return Err(PlanError::UnknownService(unknown.clone()));
                }
                Ok(Some(list.iter().cloned().collect()))
            }
        }
    };
    // (order, nodes to plan or all, services to plan or all)
    let (order, only_nodes, only_services): (
        &[TaskKind],
        Option<BTreeSet<String>>,
        Option<BTreeSet<String>>,
    ) = match &request.action {
        ClusterAction::Create => (CREATE_ORDER, None, None),
        ClusterAction::Delete => (&[Delete], None, None),
        ClusterAction::Configure => (&[Bootstrap, Configure], None, None),
        ClusterAction::ConfigureWithRestart => (&[Bootstrap, Stop, Configure, Start], None, None),
        ClusterAction::StartServices(services) => {
            // starting a service starts what it needs first
            let expanded =
                named(services)?.map(|set| expand(&set, |s| deps.transitive(s, DepKind::Runtime)));
            (&[Start], None, expanded)
        }
        ClusterAction::StopServices(services) => {
            let expanded =
                named(services)?.map(|set| expand(&set, |s| deps.dependents(s, DepKind::Runtime)));
            (&[Stop], None, expanded)
        }
        ClusterAction::RestartServices(services) => {
            let expanded =
                named(services)?.map(|set| expand(&set, |s| deps.dependents(s, DepKind::Runtime)));
            (&[Stop, Start], None, expanded)
        }
        ClusterAction::AddServices { services, nodes } => (
            &[Bootstrap, Install, Configure, Initialize, Start],
            Some(nodes.clone()),
            Some(services.iter().cloned().collect()),
        ),
        ClusterAction::RemoveServices(services) => {
            (&[Stop, Remove], None, named(&Some(services.clone()))?)
        }
        ClusterAction::AddNodes(nodes) => (CREATE_ORDER, Some(nodes.clone()), None),
    };

    let mut graph: DiGraph<Task, ()> = DiGraph::new();
    let mut index: HashMap<Task, NodeIndex> = HashMap::new();
    let mut add = |graph: &mut DiGraph<Task, ()>, task: Task| -> NodeIndex {
        *index
            .entry(task.clone())
            .or_insert_with(|| graph.add_node(task))
    };
    for node in &request.nodes {
        if only_nodes
            .as_ref()
            .is_some_and(|only| !only.contains(&node.id))
        {
            continue;
        }
        let services: Vec<&String> = node
            .services
            .iter()
            .filter(|s| only_services.as_ref().is_none_or(|only| only.contains(*s)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if services.is_empty() && only_services.is_some() {
            continue; // nothing of this action runs here
        }
        chain(&mut graph, &mut add, node, &services, order, request);
    }
    if let ClusterAction::AddNodes(new_nodes) = &request.action {
        // existing nodes reconfigure once the new ones are reachable (their addresses are known)
        let confirms: Vec<NodeIndex> = graph
            .node_indices()
            .filter(|&i| graph[i].kind == Confirm)
            .collect();
        for node in request.nodes.iter().filter(|n| !new_nodes.contains(&n.id)) {
            for service in node.services.iter().collect::<BTreeSet<_>>() {
                if defines(request, service, ServiceAction::Configure) {
                    let task = add(
                        &mut graph,
                        Task {
                            kind: Configure,
                            node: node.id.clone(),
                            service: Some(service.clone()),
                        },
                    );
                    for &confirm in &confirms {
                        graph.update_edge(confirm, task, ());
                    }
                }
            }
        }
    }
    cross_service_edges(&mut graph, &deps, request);
    layer(graph, &request.nodes)
}

fn expand<'a>(
    set: &BTreeSet<String>,
    related: impl Fn(&str) -> BTreeSet<&'a str>,
) -> BTreeSet<String> {
    let mut expanded = set.clone();
    for service in set {
        expanded.extend(related(service).into_iter().map(str::to_string));
    }
    expanded
}

fn defines(request: &PlanRequest, service: &str, action: ServiceAction) -> bool {
    request
        .services
        .get(service)
        .is_some_and(|s| s.actions.contains(&action))
}

/// One node's tasks: the node-level tasks in order, then each service's tasks in order, each
/// task after the one before it.
fn chain(
    graph: &mut DiGraph<Task, ()>,
    add: &mut impl FnMut(&mut DiGraph<Task, ()>, Task) -> NodeIndex,
    node: &crate::PlanNode,
    services: &[&String],
    order: &[TaskKind],
    request: &PlanRequest,
) {
    let mut last_node_task = None;
    for &kind in order.iter().filter(|k| k.is_node_task()) {
        let task = add(
            graph,
            Task {
                kind,
                node: node.id.clone(),
                service: None,
            },
        );
        if let Some(previous) = last_node_task {
            graph.update_edge(previous, task, ());
        }
        last_node_task = Some(task);
    }
    for service in services {
        let mut previous = last_node_task;
        for &kind in order.iter().filter(|k| !k.is_node_task()) {
            let Some(action) = kind.service_action() else {
                continue;
            };
            if !defines(request, service, action) {
                continue;
            }
            let task = add(
                graph,
                Task {
                    kind,
                    node: node.id.clone(),
                    service: Some((*service).clone()),
                },
            );
            if let Some(previous) = previous {
                graph.update_edge(previous, task, ());
            }
            previous = Some(task);
        }
    }
}

fn cross_service_edges(
    graph: &mut DiGraph<Task, ()>,
    deps: &Dependencies<'_>,
    request: &PlanRequest,
) {
    let index: HashMap<Task, NodeIndex> = graph
        .node_indices()
        .map(|i| (graph[i].clone(), i))
        .collect();
    let on_nodes = |service: &str| -> Vec<&String> {
        request
            .nodes
            .iter()
            .filter(|n| n.services.iter().any(|s| s == service))
            .map(|n| &n.id)
            .collect()
    };
    let planned: HashSet<(TaskKind, &str)> = index
        .keys()
        .filter_map(|t| t.service.as_deref().map(|s| (t.kind, s)))
        .collect();
    let mut edges = Vec::new();
    for (task, &at) in &index {
        let Some(service) = &task.service else {
            continue;
        };
        // (the dependency's task kind, dependency kind, whether the dependency goes first)
        let rules: &[(TaskKind, DepKind, bool)] = match task.kind {
            Start | Initialize => &[(Start, DepKind::Runtime, true)],
            Install => &[(Install, DepKind::Install, true)],
            Stop => &[(Stop, DepKind::Runtime, false)],
            Remove => &[(Remove, DepKind::Install, false)],
            _ => &[],
        };
        for &(kind, dep_kind, dependency_first) in rules {
            let planned = |dependency: &str| planned.contains(&(kind, dependency));
            for dependency in deps.effective(service, dep_kind, &planned) {
                for node in on_nodes(dependency) {
                    let other = Task {
                        kind,
                        node: node.clone(),
                        service: Some(dependency.to_string()),
                    };
                    if let Some(&other_at) = index.get(&other) {
                        edges.push(if dependency_first {
                            (other_at, at)
                        } else {
                            (at, other_at)
                        });
                    }
                }
            }
        }
    }
    for (from, to) in edges {
        graph.update_edge(from, to, ());
    }
}
