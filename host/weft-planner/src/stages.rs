//! Kahn layering into stages, each split so that no node has two tasks in one stage
//! (coopr-notes §4.3). Within a stage, tasks are ordered by node, then task kind, then service.

use std::collections::HashMap;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::{Plan, PlanError, PlanNode, Task};

pub(crate) fn layer(graph: DiGraph<Task, ()>, nodes: &[PlanNode]) -> Result<Plan, PlanError> {
    let position: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let sort_key = |i: &NodeIndex| {
        let task = &graph[*i];
        (
            position
                .get(task.node.as_str())
                .copied()
                .unwrap_or(usize::MAX),
            task.kind,
            task.service.clone(),
        )
    };
    let mut waiting: HashMap<NodeIndex, usize> = graph
        .node_indices()
        .map(|i| (i, graph.neighbors_directed(i, Direction::Incoming).count()))
        .collect();
    let mut ready: Vec<NodeIndex> = graph.node_indices().filter(|i| waiting[i] == 0).collect();
    let mut stages: Vec<Vec<usize>> = Vec::new();
    let mut placed = 0;
    while !ready.is_empty() {
        ready.sort_by_key(&sort_key);
        // greedy first fit: a task goes into the first sub-stage without its node
        let mut split: Vec<Vec<NodeIndex>> = Vec::new();
        for &task in &ready {
            let node = &graph[task].node;
            match split
                .iter_mut()
                .find(|stage| stage.iter().all(|t| graph[*t].node != *node))
            {
                Some(stage) => stage.push(task),
                None => split.push(vec![task]),
            }
        }
        stages.extend(
            split
                .into_iter()
                .map(|stage| stage.into_iter().map(NodeIndex::index).collect()),
        );
        placed += ready.len();
        let mut next = Vec::new();
        for task in ready.drain(..) {
            for after in graph.neighbors_directed(task, Direction::Outgoing) {
                if let Some(count) = waiting.get_mut(&after) {
                    *count -= 1;
                    if *count == 0 {
                        next.push(after);
                    }
                }
            }
        }
        ready = next;
    }
    if placed != graph.node_count() {
        let stuck: Vec<String> = graph
            .node_indices()
            .filter(|i| waiting[i] > 0)
            .filter_map(|i| graph[i].service.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        return Err(PlanError::Cycle {
            kind: "task",
            services: stuck,
        });
    }
    let edges = graph
        .edge_indices()
        .filter_map(|e| graph.edge_endpoints(e))
        .map(|(a, b)| (a.index(), b.index()))
        .collect();
    let tasks = graph.node_indices().map(|i| graph[i].clone()).collect();
    Ok(Plan {
        tasks,
        edges,
        stages,
    })
}
