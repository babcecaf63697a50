//! Kahn layering into stages, each split so that no node has two tasks in one stage
//! (coopr-notes §4.3). Within a stage, tasks are ordered by node, then task kind, then service.
//! Joins take no time: one whose predecessors are done releases its successors at once.

use std::collections::{BTreeSet, HashMap};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::build::Vertex;
use crate::{Barrier, Plan, PlanError, PlanNode, Task};

pub(crate) fn layer(graph: DiGraph<Vertex, ()>, nodes: &[PlanNode]) -> Result<Plan, PlanError> {
    let position: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let task = |i: NodeIndex| -> Option<&Task> {
        match &graph[i] {
            Vertex::Task(task) => Some(task),
            Vertex::Join => None,
        }
    };
    let sort_key = |i: &NodeIndex| {
        let task = task(*i);
        (
            task.and_then(|t| position.get(t.node.as_str()).copied())
                .unwrap_or(usize::MAX),
            task.map(|t| t.kind),
            task.and_then(|t| t.service.clone()),
        )
    };
    let mut waiting: HashMap<NodeIndex, usize> = graph
        .node_indices()
        .map(|i| (i, graph.neighbors_directed(i, Direction::Incoming).count()))
        .collect();
    // number the tasks as they will appear in the plan
    let mut task_number: HashMap<NodeIndex, usize> = HashMap::new();
    let mut tasks: Vec<Task> = Vec::new();
    for i in graph.node_indices() {
        if let Some(t) = task(i) {
            task_number.insert(i, tasks.len());
            tasks.push(t.clone());
        }
    }
    let mut ready: Vec<NodeIndex> = graph.node_indices().filter(|i| waiting[i] == 0).collect();
    let mut stages: Vec<Vec<usize>> = Vec::new();
    let mut placed = 0;
    while !ready.is_empty() {
        // joins that are ready release their successors within this round
        let mut round: Vec<NodeIndex> = Vec::new();
        let mut done: Vec<NodeIndex> = Vec::new();
        while let Some(vertex) = ready.pop() {
            done.push(vertex);
            if task(vertex).is_some() {
                round.push(vertex);
            } else {
                placed += 1;
                release(&graph, vertex, &mut waiting, &mut ready);
            }
        }
        round.sort_by_key(&sort_key);
        // greedy first fit: a task goes into the first sub-stage without its node
        let mut split: Vec<(BTreeSet<&str>, Vec<usize>)> = Vec::new();
        for &vertex in &round {
            let Some(t) = task(vertex) else { continue };
            match split
                .iter_mut()
                .find(|(nodes, _)| !nodes.contains(t.node.as_str()))
            {
                Some((nodes, stage)) => {
                    nodes.insert(t.node.as_str());
                    stage.push(task_number[&vertex]);
                }
                None => split.push(([t.node.as_str()].into(), vec![task_number[&vertex]])),
            }
        }
        stages.extend(split.into_iter().map(|(_, stage)| stage));
        placed += round.len();
        let mut next = Vec::new();
        for vertex in round {
            release(&graph, vertex, &mut waiting, &mut next);
        }
        ready = next;
    }
    if placed != graph.node_count() {
        let stuck: Vec<String> = graph
            .node_indices()
            .filter(|i| waiting[i] > 0)
            .filter_map(|i| task(i).and_then(|t| t.service.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        return Err(PlanError::Cycle {
            kind: "task",
            services: stuck,
        });
    }
    let mut edges = Vec::new();
    let mut barriers = Vec::new();
    for i in graph.node_indices() {
        match task(i) {
            Some(_) => {
                for after in graph.neighbors_directed(i, Direction::Outgoing) {
                    if let Some(&to) = task_number.get(&after) {
                        edges.push((task_number[&i], to));
                    }
                }
            }
            None => {
                let mut before: Vec<usize> = graph
                    .neighbors_directed(i, Direction::Incoming)
                    .filter_map(|v| task_number.get(&v).copied())
                    .collect();
                let mut after: Vec<usize> = graph
                    .neighbors_directed(i, Direction::Outgoing)
                    .filter_map(|v| task_number.get(&v).copied())
                    .collect();
                before.sort_unstable();
                after.sort_unstable();
                barriers.push(Barrier { before, after });
            }
        }
    }
    edges.sort_unstable();
    Ok(Plan {
        tasks,
        edges,
        barriers,
        stages,
    })
}

fn release(
    graph: &DiGraph<Vertex, ()>,
    vertex: NodeIndex,
    waiting: &mut HashMap<NodeIndex, usize>,
    ready: &mut Vec<NodeIndex>,
) {
    for after in graph.neighbors_directed(vertex, Direction::Outgoing) {
        if let Some(count) = waiting.get_mut(&after) {
            *count -= 1;
            if *count == 0 {
                ready.push(after);
            }
        }
    }
}
