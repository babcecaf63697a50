//! The solver's input and output.

use weft_model::FieldError;

/// One placement problem: which services, on how many nodes, under which constraints.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub num_machines: u32,
    /// Hardware types a node may use (compatible, and with a flavor for the provider).
    pub hardwaretypes: Vec<String>,
    /// Image types a node may use.
    pub imagetypes: Vec<String>,
    /// Every service of the cluster, each with its constraint if the template has one.
    pub services: Vec<ServiceLimits>,
    pub mustcoexist: Vec<Vec<String>>,
    pub cantcoexist: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceLimits {
    pub name: String,
    pub limits: Option<Limits>,
}

/// A template's constraint on one service.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Allowed hardware types; empty allows all.
    pub hardwaretypes: Vec<String>,
    /// Allowed image types; empty allows all.
    pub imagetypes: Vec<String>,
    /// Fewest nodes carrying the service.
    pub min: u32,
    /// Most nodes carrying the service; `None` is unbounded.
    pub max: Option<u32>,
}

/// The solved layout: groups of identical nodes, in Coopr's preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub groups: Vec<NodeGroup>,
}

/// `count` nodes of one hardware type and image type carrying the same services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeGroup {
    pub hardwaretype: String,
    pub imagetype: String,
    /// Sorted by name.
    pub services: Vec<String>,
    pub count: u32,
}

impl Layout {
    /// Nodes carrying `service`.
    pub fn count_of(&self, service: &str) -> u32 {
        self.groups
            .iter()
            .filter(|g| g.services.iter().any(|s| s == service))
            .map(|g| g.count)
            .sum()
    }

    pub fn total_nodes(&self) -> u32 {
        self.groups.iter().map(|g| g.count).sum()
    }
}

/// Why no layout exists, in terms a template author can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Infeasible {
    /// Which constraint, which services, which counts.
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SolveError {
    /// The request itself is wrong (a field names something unknown or out of range).
    #[error(transparent)]
    Request(#[from] FieldError),
    /// The request names a template or provider that does not exist.
    #[error("{field}: {what}")]
    Missing { field: String, what: String },
    /// The request is well formed, but the template's constraints cannot be met.
    #[error("no layout satisfies the template: {}", .0.explanation)]
    Infeasible(Infeasible),
    /// The search exceeded its step budget before deciding.
    #[error("the layout search gave up after {steps} steps: simplify the template's constraints")]
    TooComplex { steps: u64 },
}

impl SolveError {
    pub(crate) fn infeasible(explanation: impl Into<String>) -> SolveError {
        SolveError::Infeasible(Infeasible {
            explanation: explanation.into(),
        })
    }
}
