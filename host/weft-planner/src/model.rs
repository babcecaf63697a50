//! The planner's vocabulary: task kinds, cluster actions, inputs and the plan.

use std::collections::{BTreeMap, BTreeSet};

use weft_model::ServiceAction;

/// A node task (Coopr's `ProvisionerAction`), upper case on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskKind {
    Create,
    Confirm,
    Bootstrap,
    Install,
    Configure,
    Initialize,
    Start,
    Stop,
    Remove,
    Delete,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Create => "CREATE",
            TaskKind::Confirm => "CONFIRM",
            TaskKind::Bootstrap => "BOOTSTRAP",
            TaskKind::Install => "INSTALL",
            TaskKind::Configure => "CONFIGURE",
            TaskKind::Initialize => "INITIALIZE",
            TaskKind::Start => "START",
            TaskKind::Stop => "STOP",
            TaskKind::Remove => "REMOVE",
            TaskKind::Delete => "DELETE",
        }
    }

    /// Node-level (hardware) tasks are shared by all services of a node.
    pub fn is_node_task(self) -> bool {
        matches!(
            self,
            TaskKind::Create | TaskKind::Confirm | TaskKind::Bootstrap | TaskKind::Delete
        )
    }

    /// The service action a service task runs.
    pub fn service_action(self) -> Option<ServiceAction> {
        match self {
            TaskKind::Install => Some(ServiceAction::Install),
            TaskKind::Configure => Some(ServiceAction::Configure),
            TaskKind::Initialize => Some(ServiceAction::Initialize),
            TaskKind::Start => Some(ServiceAction::Start),
            TaskKind::Stop => Some(ServiceAction::Stop),
            TaskKind::Remove => Some(ServiceAction::Remove),
            _ => None,
        }
    }
}

/// What a job does to a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterAction {
    Create,
    Delete,
    Configure,
    ConfigureWithRestart,
    /// Start these services (and what they need), or all when `None`.
    StartServices(Option<Vec<String>>),
    /// Stop these services (and what needs them), or all when `None`.
    StopServices(Option<Vec<String>>),
    RestartServices(Option<Vec<String>>),
    /// New services on the nodes that changed.
    AddServices {
        services: Vec<String>,
        nodes: BTreeSet<String>,
    },
    /// Stop and remove these services from every node carrying them.
    RemoveServices(Vec<String>),
    /// Create these new nodes; reconfigure the others once the new ones are reachable.
    AddNodes(BTreeSet<String>),
}

impl ClusterAction {
    /// Coopr's name for the action (`CLUSTER_CREATE`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            ClusterAction::Create => "CLUSTER_CREATE",
            ClusterAction::Delete => "CLUSTER_DELETE",
            ClusterAction::Configure => "CLUSTER_CONFIGURE",
            ClusterAction::ConfigureWithRestart => "CLUSTER_CONFIGURE_WITH_RESTART",
            ClusterAction::StartServices(_) => "START_SERVICES",
            ClusterAction::StopServices(_) => "STOP_SERVICES",
            ClusterAction::RestartServices(_) => "RESTART_SERVICES",
            ClusterAction::AddServices { .. } => "ADD_SERVICES",
            ClusterAction::RemoveServices(_) => "REMOVE_SERVICES",
            ClusterAction::AddNodes(_) => "ADD_NODES",
        }
    }
}

/// A node of the cluster and the services on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanNode {
    pub id: String,
    pub services: Vec<String>,
}

/// What the planner needs of a service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanService {
    pub name: String,
    /// Which actions the service defines; tasks for the others are skipped.
    pub actions: BTreeSet<ServiceAction>,
    /// `install.requires ∪ install.uses`.
    pub install_deps: Vec<String>,
    /// `runtime.requires ∪ runtime.uses`.
    pub runtime_deps: Vec<String>,
    pub provides: Vec<String>,
}

impl PlanService {
    /// A planner view of a catalog service.
    pub fn from_service(service: &weft_model::Service) -> PlanService {
        let deps = &service.dependencies;
        PlanService {
            name: service.name.clone(),
            actions: service
                .provisioner
                .actions
                .keys()
                .filter_map(|a| ServiceAction::parse(a))
                .collect(),
            install_deps: deps
                .install
                .requires
                .iter()
                .chain(&deps.install.uses)
                .cloned()
                .collect(),
            runtime_deps: deps
                .runtime
                .requires
                .iter()
                .chain(&deps.runtime.uses)
                .cloned()
                .collect(),
            provides: deps.provides.clone(),
        }
    }
}

/// Everything a plan is made from.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub action: ClusterAction,
    /// The cluster's nodes in node-number order.
    pub nodes: Vec<PlanNode>,
    /// Every service on the cluster, by name.
    pub services: BTreeMap<String, PlanService>,
}

/// One node task.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Task {
    pub kind: TaskKind,
    pub node: String,
    /// `None` for node-level tasks.
    pub service: Option<String>,
}

/// The DAG and its stages. `edges` are (before, after) indices into `tasks`. Where a task
/// waits for one service's tasks on many nodes (or many tasks wait for them), a [`Barrier`]
/// stands for all those edges, so a plan stays linear in size. `stages` hold task indices, at
/// most one per node each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub tasks: Vec<Task>,
    pub edges: Vec<(usize, usize)>,
    pub barriers: Vec<Barrier>,
    pub stages: Vec<Vec<usize>>,
}

/// Every task in `after` waits for every task in `before`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Barrier {
    pub before: Vec<usize>,
    pub after: Vec<usize>,
}

impl Plan {
    /// The tasks `task` waits for directly, through edges and barriers.
    pub fn predecessors(&self, task: usize) -> std::collections::BTreeSet<usize> {
        let direct = self
            .edges
            .iter()
            .filter(|(_, b)| *b == task)
            .map(|(a, _)| *a);
        let barred = self
            .barriers
            .iter()
            .filter(|b| b.after.contains(&task))
            .flat_map(|b| b.before.iter().copied());
        direct.chain(barred).collect()
    }

    /// The tasks that wait for `task` directly, through edges and barriers.
    pub fn successors(&self, task: usize) -> std::collections::BTreeSet<usize> {
        let direct = self
            .edges
            .iter()
            .filter(|(a, _)| *a == task)
            .map(|(_, b)| *b);
        let barred = self
            .barriers
            .iter()
            .filter(|b| b.before.contains(&task))
            .flat_map(|b| b.after.iter().copied());
        direct.chain(barred).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Services depend on each other in a circle.
    #[error("services depend on each other in a cycle ({kind} dependencies): {}", services.join(" -> "))]
    Cycle {
        kind: &'static str,
        services: Vec<String>,
    },
    /// The action names a service the cluster does not have.
    #[error("service '{0}' is not on the cluster")]
    UnknownService(String),
}
