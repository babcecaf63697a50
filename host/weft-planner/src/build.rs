//! Building the DAG: per-node chains in the action's order, then cross-service edges
//! (coopr-notes §4.2): START(dep) → START and INITIALIZE(svc) for runtime dependencies,
//! STOP(svc) → STOP(dep) reversed, INSTALL(dep) → INSTALL(svc), and — new in Weft —
//! REMOVE(svc) → REMOVE(dep), each from the dependency's task on every node that has it.
//!
//! "On every node" makes the edge count quadratic (every INSTALL waits for `base` on every
//! node). A join vertex per (dependency, task kind, direction) carries those edges instead: the
//! graph stays linear and becomes a [`crate::Barrier`] in the plan.

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

/// A vertex of the planning graph: a task, or a join standing for all-to-all edges.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Vertex {
    Task(Task),
    Join,
}

/// The graph under construction, with edges deduplicated.
pub(crate) struct Graph {
    pub(crate) graph: DiGraph<Vertex, ()>,
    index: HashMap<Task, NodeIndex>,
    edges: HashSet<(NodeIndex, NodeIndex)>,
}

impl Graph {
    fn task(&mut self, task: Task) -> NodeIndex {
        if let Some(&at) = self.index.get(&task) {
            return at;
        }
        let at = self.graph.add_node(Vertex::Task(task.clone()));
        self.index.insert(task, at);
        at
    }

    fn edge(&mut self, from: NodeIndex, to: NodeIndex) {
        if self.edges.insert((from, to)) {
            self.graph.add_edge(from, to, ());
        }
    }
}

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

    let mut graph = Graph {
        graph: DiGraph::new(),
        index: HashMap::new(),
        edges: HashSet::new(),
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
        chain(&mut graph, node, &services, order, request);
    }
    if let ClusterAction::AddNodes(new_nodes) = &request.action {
        // existing nodes reconfigure once the new ones are reachable (their addresses are known)
        let confirms: Vec<NodeIndex> = graph
            .graph
            .node_indices()
            .filter(|&i| matches!(&graph.graph[i], Vertex::Task(t) if t.kind == Confirm))
            .collect();
        let join = graph.graph.add_node(Vertex::Join);
        for confirm in confirms {
            graph.edge(confirm, join);
        }
        for node in request.nodes.iter().filter(|n| !new_nodes.contains(&n.id)) {
            for service in node.services.iter().collect::<BTreeSet<_>>() {
                if defines(request, service, ServiceAction::Configure) {
                    let task = graph.task(Task {
                        kind: Configure,
                        node: node.id.clone(),
                        service: Some(service.clone()),
                    });
                    graph.edge(join, task);
                }
            }
        }
    }
    cross_service_edges(&mut graph, &deps);
    layer(graph.graph, &request.nodes)
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
    graph: &mut Graph,
    node: &crate::PlanNode,
    services: &[&String],
    order: &[TaskKind],
    request: &PlanRequest,
) {
    let mut last_node_task = None;
    for &kind in order.iter().filter(|k| k.is_node_task()) {
        let task = graph.task(Task {
            kind,
            node: node.id.clone(),
            service: None,
        });
        if let Some(previous) = last_node_task {
            graph.edge(previous, task);
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
            let task = graph.task(Task {
                kind,
                node: node.id.clone(),
                service: Some((*service).clone()),
            });
            if let Some(previous) = previous {
                graph.edge(previous, task);
            }
            previous = Some(task);
        }
    }
}

fn cross_service_edges(graph: &mut Graph, deps: &Dependencies<'_>) {
    // the tasks of each (kind, service) across nodes
    let mut groups: HashMap<(TaskKind, String), Vec<NodeIndex>> = HashMap::new();
    for (task, &at) in &graph.index {
        if let Some(service) = &task.service {
            groups
                .entry((task.kind, service.clone()))
                .or_default()
                .push(at);
        }
    }
    for members in groups.values_mut() {
        members.sort();
    }
    let mut joins: HashMap<(TaskKind, String, bool), NodeIndex> = HashMap::new();
    let mut tasks: Vec<(Task, NodeIndex)> =
        graph.index.iter().map(|(t, i)| (t.clone(), *i)).collect();
    tasks.sort_by_key(|(_, i)| *i);
    let mut effective_cache: HashMap<(String, TaskKind), Vec<String>> = HashMap::new();
    for (task, at) in tasks {
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
            let dependencies = effective_cache
                .entry((service.clone(), kind))
                .or_insert_with(|| {
                    let planned =
                        |dependency: &str| groups.contains_key(&(kind, dependency.to_string()));
                    deps.effective(service, dep_kind, &planned)
                        .into_iter()
                        .map(str::to_string)
                        .collect()
                })
                .clone();
            for dependency in dependencies {
                let Some(members) = groups.get(&(kind, dependency.clone())) else {
                    continue;
                };
                if let [only] = members[..] {
                    if dependency_first {
                        graph.edge(only, at)
                    } else {
                        graph.edge(at, only)
                    }
                    continue;
                }
                let join = *joins
                    .entry((kind, dependency, dependency_first))
                    .or_insert_with(|| {
                        let join = graph.graph.add_node(Vertex::Join);
                        for &member in members {
                            if dependency_first {
                                graph.edges.insert((member, join));
                                graph.graph.add_edge(member, join, ());
                            } else {
                                graph.edges.insert((join, member));
                                graph.graph.add_edge(join, member, ());
                            }
                        }
                        join
                    });
                if dependency_first {
                    graph.edge(join, at)
                } else {
                    graph.edge(at, join)
                }
            }
        }
    }
}
