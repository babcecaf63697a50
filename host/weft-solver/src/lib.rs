//! Places a cluster's services onto nodes under its template's constraints: the service
//! placement problem of coopr-notes §3, solved without enumerating 2^N service sets.
//!
//! Architecture invariant: pure. No I/O, no async, no tenant: a [`Problem`] in, a [`Layout`] or
//! an [`Infeasible`] explanation out. `prepare` builds the problem from a resolved template, a
//! request and the catalog, doing Coopr's pre-checks.
//!
//! # Semantics
//!
//! As in Coopr: services without a constraint (no quantities or types, in no layout set) go on
//! every node; a valid node holds a non-empty set of the constrained services that includes all
//! or none of each `mustcoexist` set (after intersecting with the cluster's services) and no whole
//! `cantcoexist` set, on a hardware and image type every service on it allows. A node layout is
//! such a set with the alphabetically first allowed hardware and image type. Layouts are ranked
//! by Coopr's comparator (more services first, then hardware type, image type and the sorted
//! service names), and Weft returns the count vector over that ranking that Coopr's iterator
//! finds first: the lexicographically greatest one that satisfies every quantity. One change:
//! every requested service lands on at least one node (Coopr could drop a constrained service
//! whose minimum is 0).
//!
//! # How it avoids 2^N
//!
//! `mustcoexist` sets chain into all-or-nothing *atoms*; valid sets of atoms are closed under
//! taking subsets. Then "can R more nodes satisfy the remaining minimums and maximums?" has an
//! exact answer through the multicover number χ (the fewest valid nodes covering every remaining
//! minimum), computed over the few maximal valid sets with memoisation (`cover`). A completion
//! never needs a layout ranked earlier than the current one, so the lexicographic maximum is a
//! greedy walk over layouts in rank order, generated lazily best-first from the maximal sets
//! (`search`).

mod atoms;
mod cover;
mod existing;
mod prepare;
mod problem;
mod search;
pub mod testing;

pub use existing::{ExistingNode, add_nodes, add_services, check_existing};
pub use prepare::{ClusterRequest, MAX_CLUSTER_SIZE, prepare};
pub use problem::{Infeasible, Layout, Limits, NodeGroup, Problem, ServiceLimits, SolveError};
pub use search::solve;

#[cfg(test)]
mod tests;
