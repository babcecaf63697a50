//! Plans a cluster action as a DAG of node tasks and layers it into stages (coopr-notes §4).
//!
//! Architecture invariant: pure. No I/O, no async; nodes, services and an action in, a [`Plan`]
//! out. The plan keeps both the DAG (so an engine may start a task as soon as its own
//! predecessors finish) and Coopr's stages (Kahn layers with at most one task per node each, so
//! a stage barrier can run them).
//!
//! Layout: `model` (tasks, actions, inputs, the plan), `dependencies` (which services a task
//! waits for: `provides` substitution, minimisation, searching down the chain), `build` (the
//! per-node chains and cross-service edges), `stages` (layering).

mod build;
mod dependencies;
mod model;
mod stages;

pub use build::plan;
pub use model::{
    Barrier, ClusterAction, Plan, PlanError, PlanNode, PlanRequest, PlanService, Task, TaskKind,
};

#[cfg(test)]
mod tests;
