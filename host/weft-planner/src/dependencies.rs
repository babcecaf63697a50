//! Which services a service's task waits for (coopr-notes §4.2, step 3): dependencies are the
//! union of `requires` and `uses`; a name that is not a service on the cluster stands for the
//! services that provide it (and is ignored if none does); the set is minimised to direct
//! dependencies; a dependency without the needed task in the plan (it lacks the action, or is not
//! being planned) is replaced by its own dependencies that have one; finally entries that others
//! already depend on are dropped.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graphmap::DiGraphMap;

use crate::{PlanError, PlanService};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DepKind {
    Install,
    Runtime,
}

impl DepKind {
    fn name(self) -> &'static str {
        match self {
            DepKind::Install => "install",
            DepKind::Runtime => "runtime",
        }
    }
}

pub(crate) struct Dependencies<'a> {
    services: &'a BTreeMap<String, PlanService>,
}

impl<'a> Dependencies<'a> {
    /// Checks both dependency graphs for cycles.
    pub(crate) fn new(
        services: &'a BTreeMap<String, PlanService>,
    ) -> Result<Dependencies<'a>, PlanError> {
        let deps = Dependencies { services };
        for kind in [DepKind::Install, DepKind::Runtime] {
            deps.check_cycles(kind)?;
        }
        Ok(deps)
    }

    /// The cluster services `service` directly depends on, provides substituted.
    pub(crate) fn direct(&self, service: &str, kind: DepKind) -> BTreeSet<&'a str> {
        let Some(definition) = self.services.get(service) else {
            return BTreeSet::new();
        };
        let names = match kind {
            DepKind::Install => &definition.install_deps,
            DepKind::Runtime => &definition.runtime_deps,
        };
        let mut direct = BTreeSet::new();
        for name in names {
            if let Some((key, _)) = self.services.get_key_value(name) {
                direct.insert(key.as_str());
            } else {
                direct.extend(
                    self.services
                        .values()
                        .filter(|s| s.provides.contains(name))
                        .map(|s| s.name.as_str()),
                );
            }
        }
        direct.remove(service);
        direct
    }

    /// Everything `service` depends on, transitively.
    pub(crate) fn transitive(&self, service: &str, kind: DepKind) -> BTreeSet<&'a str> {
        let mut found = BTreeSet::new();
        let mut todo: Vec<&str> = self.direct(service, kind).into_iter().collect();
        while let Some(next) = todo.pop() {
            if found.insert(next) {
                todo.extend(self.direct(next, kind));
            }
        }
        found
    }

    /// Everything that depends on `service`, transitively.
    pub(crate) fn dependents(&self, service: &str, kind: DepKind) -> BTreeSet<&'a str> {
        self.services
            .keys()
            .map(String::as_str)
            .filter(|s| self.transitive(s, kind).contains(service))
            .collect()
    }

    /// Drops entries that another entry depends on (directly or not).
    fn minimise(&self, set: BTreeSet<&'a str>, kind: DepKind) -> BTreeSet<&'a str> {
        let reached: BTreeSet<&str> = set.iter().flat_map(|s| self.transitive(s, kind)).collect();
        set.into_iter().filter(|s| !reached.contains(s)).collect()
    }

    /// The services whose tasks `service`'s task must follow (or precede, for stops and
    /// removals). `planned` says whether a service has the needed task in this plan; one that
    /// has not (it lacks the action, or is not being planned) is looked through to its own
    /// dependencies.
    pub(crate) fn effective(
        &self,
        service: &str,
        kind: DepKind,
        planned: &dyn Fn(&str) -> bool,
    ) -> BTreeSet<&'a str> {
        let mut found = BTreeSet::new();
        for dependency in self.minimise(self.direct(service, kind), kind) {
            if planned(dependency) {
                found.insert(dependency);
            } else {
                found.extend(self.effective(dependency, kind, planned));
            }
        }
        self.minimise(found, kind)
    }

    fn check_cycles(&self, kind: DepKind) -> Result<(), PlanError> {
        let mut graph: DiGraphMap<&str, ()> = DiGraphMap::new();
        for name in self.services.keys() {
            graph.add_node(name.as_str());
            for dependency in self.direct(name, kind) {
                graph.add_edge(name.as_str(), dependency, ());
            }
        }
        for component in petgraph::algo::tarjan_scc(&graph) {
            if component.len() > 1 {
                return Err(PlanError::Cycle {
                    kind: kind.name(),
                    services: cycle_path(&graph, &component),
                });
            }
        }
        Ok(())
    }
}

/// A cycle through a strongly connected component, as names, closed with its first name.
fn cycle_path<'a>(graph: &DiGraphMap<&'a str, ()>, component: &[&'a str]) -> Vec<String> {
    let members: BTreeSet<&str> = component.iter().copied().collect();
    let start = members.iter().next().copied().unwrap_or_default();
    let mut path = vec![start];
    let mut current = start;
    // follow edges inside the component until a name repeats
    loop {
        let next = graph
            .neighbors(current)
            .filter(|n| members.contains(n))
            .min();
        match next {
            Some(next) => {
                if let Some(at) = path.iter().position(|p| *p == next) {
                    let mut cycle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
                    cycle.push(next.to_string());
                    return cycle;
                }
                path.push(next);
                current = next;
            }
            None => return path.iter().map(|s| s.to_string()).collect(),
        }
    }
}
