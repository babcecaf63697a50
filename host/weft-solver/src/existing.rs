//! Working with a cluster that exists: checking it against a (new) template (coopr-notes §3.7),
//! adding nodes under the same constraints, and adding services to existing nodes (§3.6).
//! Existing nodes never change hardware or image type, and existing services never move.

use std::collections::BTreeSet;

use crate::atoms::Atoms;
use crate::search::{check_problem, search};
use crate::{Layout, Problem, SolveError};

/// A node of an existing cluster, as the solver sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingNode {
    pub hardwaretype: String,
    pub imagetype: String,
    pub services: Vec<String>,
}

/// Most placements tried by [`add_services`] before it gives up.
const PLACEMENT_BUDGET: u64 = 1_000_000;

/// Checks that `nodes` satisfy `problem` (built from the template to sync to, with every
/// service on the cluster): every service and type is allowed, every node respects the layout
/// and type constraints, and every quantity holds. Lists every violation.
pub fn check_existing(problem: &Problem, nodes: &[ExistingNode]) -> Result<(), SolveError> {
    let mut problems = Vec::new();
    let known: BTreeSet<&str> = problem.services.iter().map(|s| s.name.as_str()).collect();
    for (i, node) in nodes.iter().enumerate() {
        let what = format!("node {}", i + 1);
        for service in node.services.iter().filter(|s| !known.contains(s.as_str())) {
            problems.push(format!(
                "{what} carries {service}, which the template does not allow"
            ));
        }
        if !problem.hardwaretypes.contains(&node.hardwaretype) {
            problems.push(format!(
                "{what} has hardware type {}, which the template does not allow",
                node.hardwaretype
            ));
        }
        if !problem.imagetypes.contains(&node.imagetype) {
            problems.push(format!(
                "{what} has image type {}, which the template does not allow",
                node.imagetype
            ));
        }
        problems.extend(
            node_violations(problem, node)
                .into_iter()
                .map(|p| format!("{what} {p}")),
        );
    }
    problems.extend(quantity_violations(problem, nodes, None));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SolveError::infeasible(problems.join("; ")))
    }
}

/// Layouts for `new_nodes` more nodes, chosen as a create would choose them given what the
/// existing nodes already carry. Only the new nodes' groups are returned.
pub fn add_nodes(
    problem: &Problem,
    existing: &[ExistingNode],
    new_nodes: u32,
) -> Result<Layout, SolveError> {
    check_problem(&Problem {
        num_machines: new_nodes,
        ..problem.clone()
    })?;
    let atoms = Atoms::build(problem)?;
    let mut carried = vec![0u32; atoms.len()];
    for (i, node) in existing.iter().enumerate() {
        for (a, atom) in atoms.atoms.iter().enumerate() {
            let present = atom
                .services
                .iter()
                .filter(|s| node.services.contains(s))
                .count();
            if present == atom.services.len() {
                carried[a] += 1;
            } else if present > 0 {
                return Err(SolveError::infeasible(format!(
                    "existing node {} carries only part of [{}], which must coexist",
                    i + 1,
                    atom.services.join(", ")
                )));
            }
        }
    }
    let mut lo = Vec::new();
    let mut hi = Vec::new();
    for (atom, &count) in atoms.atoms.iter().zip(&carried) {
        lo.push(atom.lo.saturating_sub(count));
        hi.push(match atom.hi {
            Some(max) if count > max => {
                return Err(SolveError::infeasible(format!(
                    "the cluster already has [{}] on {count} nodes, above the template's maximum of {max}",
                    atom.services.join(", ")
                )));
            }
            Some(max) => Some(max - count),
            None => None,
        });
    }
    search(&atoms, new_nodes, lo, hi)
}

/// Places `new_services` on existing nodes (Coopr's add-services search): each service in turn
/// — tighter maximum first, then higher minimum, then name, unconstrained ones last — goes on
/// as many nodes as it may, preferring node layouts in Coopr's order, with backtracking. Returns
/// (node index, services added) for every node that changes. `problem` lists every service the
/// cluster will have.
pub fn add_services(
    problem: &Problem,
    existing: &[ExistingNode],
    new_services: &[String],
) -> Result<Vec<(usize, Vec<String>)>, SolveError> {
    let known: BTreeSet<&str> = problem.services.iter().map(|s| s.name.as_str()).collect();
    if let Some(unknown) = new_services.iter().find(|s| !known.contains(s.as_str())) {
        return Err(SolveError::infeasible(format!(
            "service {unknown} is not part of the problem"
        )));
    }
    let in_sets = |name: &str| {
        problem
            .mustcoexist
            .iter()
            .chain(&problem.cantcoexist)
            .any(|set| set.iter().any(|s| s == name))
    };
    let mut order: Vec<&crate::ServiceLimits> = problem
        .services
        .iter()
        .filter(|s| new_services.contains(&s.name))
        .collect();
    order.sort_by_key(|s| {
        let constrained = s.limits.is_some() || in_sets(&s.name);
        let (min, max) = s.limits.as_ref().map_or((0, None), |l| (l.min, l.max));
        (
            !constrained,
            max.is_none(),
            max,
            std::cmp::Reverse(min),
            s.name.clone(),
        )
    });
    let mut nodes: Vec<ExistingNode> = existing.to_vec();
    let mut steps = 0u64;
    let mut failure = None;
    if place(problem, &order, 0, &mut nodes, &mut steps, &mut failure)? {
        let changes = nodes
            .iter()
            .zip(existing)
            .enumerate()
            .filter_map(|(i, (after, before))| {
                let added: Vec<String> = after
                    .services
                    .iter()
                    .filter(|s| !before.services.contains(s))
                    .cloned()
                    .collect();
                (!added.is_empty()).then_some((i, added))
            })
            .collect();
        return Ok(changes);
    }
    Err(SolveError::infeasible(failure.unwrap_or_else(|| {
        format!(
            "no way to add [{}] to the existing nodes satisfies the template; add nodes first or relax a constraint",
            new_services.join(", ")
        )
    })))
}

/// Depth-first placement of `order[next..]`; `nodes` is changed in place and restored on failure.
fn place(
    problem: &Problem,
    order: &[&crate::ServiceLimits],
    next: usize,
    nodes: &mut Vec<ExistingNode>,
    steps: &mut u64,
    failure: &mut Option<String>,
) -> Result<bool, SolveError> {
    let Some(service) = order.get(next) else {
        let violations = quantity_violations(problem, nodes, None);
        let broken: Vec<String> = nodes
            .iter()
            .flat_map(|n| node_violations(problem, n))
            .collect();
        if violations.is_empty() && broken.is_empty() {
            return Ok(true);
        }
        failure.get_or_insert_with(|| {
            violations
                .into_iter()
                .chain(broken)
                .collect::<Vec<_>>()
                .join("; ")
        });
        return Ok(false);
    };
    let (min, max) = service
        .limits
        .as_ref()
        .map_or((0, None), |l| (l.min, l.max));
    // the nodes it may join, grouped by their current layout in Coopr's preference order
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut candidates: Vec<usize> = (0..nodes.len())
        .filter(|&i| {
            let mut with = nodes[i].clone();
            with.services.push(service.name.clone());
            allowed_so_far(problem, &with)
        })
        .collect();
    candidates.sort_by_key(|&i| layout_rank(&nodes[i]));
    for i in candidates {
        match groups.last_mut() {
            Some((first, members)) if nodes[*first] == nodes[i] => members.push(i),
            _ => groups.push((i, vec![i])),
        }
    }
    let available: u32 = groups.iter().map(|(_, m)| m.len() as u32).sum();
    if available == 0 {
        failure.get_or_insert_with(|| {
            format!("{} can go on no existing node: each holds a cantcoexist partner or a type it does not allow", service.name)
        });
        return Ok(false);
    }
    let most = max.map_or(available, |m| m.min(available));
    let fewest = min.max(1);
    for count in (fewest..=most).rev() {
        let sizes: Vec<u32> = groups.iter().map(|(_, m)| m.len() as u32).collect();
        let mut split = vec![0u32; sizes.len()];
        if !first_split(&sizes, count, &mut split) {
            continue;
        }
        loop {
            *steps += 1;
            if *steps > PLACEMENT_BUDGET {
                return Err(SolveError::TooComplex { steps: *steps });
            }
            let chosen: Vec<usize> = groups
                .iter()
                .zip(&split)
                .flat_map(|((_, m), &c)| m[..c as usize].iter().copied())
                .collect();
            for &i in &chosen {
                nodes[i].services.push(service.name.clone());
            }
            let counts_ok = quantity_violations(problem, nodes, Some(&order[..=next])).is_empty();
            if counts_ok && place(problem, order, next + 1, nodes, steps, failure)? {
                return Ok(true);
            }
            for &i in &chosen {
                nodes[i].services.pop();
            }
            if !next_split(&sizes, &mut split) {
                break;
            }
        }
    }
    Ok(false)
}

/// The lexicographically greatest split of `count` over groups of `sizes`.
fn first_split(sizes: &[u32], mut count: u32, split: &mut [u32]) -> bool {
    for (slot, &size) in split.iter_mut().zip(sizes) {
        *slot = size.min(count);
        count -= *slot;
    }
    count == 0
}

/// The next split with the same total, in lexicographically descending order.
fn next_split(sizes: &[u32], split: &mut [u32]) -> bool {
    // move one unit from the right-most slot that can give to a later slot with room,
    // then pack everything after it as far left as possible
    let n = split.len();
    for i in (0..n.saturating_sub(1)).rev() {
        if split[i] == 0 {
            continue;
        }
        let after: u32 = split[i + 1..].iter().sum::<u32>() + 1;
        let room: u32 = sizes[i + 1..].iter().sum();
        if after <= room {
            split[i] -= 1;
            let mut rest = after;
            for j in i + 1..n {
                split[j] = sizes[j].min(rest);
                rest -= split[j];
            }
            return true;
        }
    }
    false
}

fn layout_rank(node: &ExistingNode) -> (std::cmp::Reverse<usize>, String, String, Vec<String>) {
    let mut services = node.services.clone();
    services.sort();
    (
        std::cmp::Reverse(services.len()),
        node.hardwaretype.clone(),
        node.imagetype.clone(),
        services,
    )
}

/// Whether a node may take one more service now: no whole cantcoexist set and every type
/// allowed. Mustcoexist sets may be completed by later services, so they are checked once
/// every service is placed.
fn allowed_so_far(problem: &Problem, node: &ExistingNode) -> bool {
    let cluster: BTreeSet<&str> = problem.services.iter().map(|s| s.name.as_str()).collect();
    if problem.cantcoexist.iter().any(|set| {
        set.iter()
            .all(|s| cluster.contains(s.as_str()) && node.services.contains(s))
    }) {
        return false;
    }
    problem
        .services
        .iter()
        .filter(|s| node.services.contains(&s.name))
        .all(|s| {
            s.limits.as_ref().is_none_or(|l| {
                (l.hardwaretypes.is_empty() || l.hardwaretypes.contains(&node.hardwaretype))
                    && (l.imagetypes.is_empty() || l.imagetypes.contains(&node.imagetype))
            })
        })
}

/// What is wrong with one node under the problem's layout and type constraints.
fn node_violations(problem: &Problem, node: &ExistingNode) -> Vec<String> {
    let cluster: BTreeSet<&str> = problem.services.iter().map(|s| s.name.as_str()).collect();
    let mut found = Vec::new();
    for set in &problem.cantcoexist {
        if set
            .iter()
            .all(|s| cluster.contains(s.as_str()) && node.services.contains(s))
        {
            found.push(format!("holds all of cantcoexist [{}]", set.join(", ")));
        }
    }
    for set in &problem.mustcoexist {
        let present: Vec<&String> = set
            .iter()
            .filter(|s| cluster.contains(s.as_str()))
            .collect();
        let on = present.iter().filter(|s| node.services.contains(s)).count();
        if on > 0 && on < present.len() {
            found.push(format!(
                "holds only part of mustcoexist [{}]",
                set.join(", ")
            ));
        }
    }
    for service in problem
        .services
        .iter()
        .filter(|s| node.services.contains(&s.name))
    {
        if let Some(l) = &service.limits {
            if !l.hardwaretypes.is_empty() && !l.hardwaretypes.contains(&node.hardwaretype) {
                found.push(format!(
                    "runs {} on hardware type {}, which it does not allow",
                    service.name, node.hardwaretype
                ));
            }
            if !l.imagetypes.is_empty() && !l.imagetypes.contains(&node.imagetype) {
                found.push(format!(
                    "runs {} on image type {}, which it does not allow",
                    service.name, node.imagetype
                ));
            }
        }
    }
    found
}

/// Services whose node count is outside [max(min, 1), max]; only `only` when given.
fn quantity_violations(
    problem: &Problem,
    nodes: &[ExistingNode],
    only: Option<&[&crate::ServiceLimits]>,
) -> Vec<String> {
    problem
        .services
        .iter()
        .filter(|s| only.is_none_or(|only| only.iter().any(|o| o.name == s.name)))
        .filter_map(|service| {
            let count = nodes
                .iter()
                .filter(|n| n.services.contains(&service.name))
                .count() as u32;
            let (min, max) = service
                .limits
                .as_ref()
                .map_or((0, None), |l| (l.min, l.max));
            if count < min.max(1) {
                Some(format!(
                    "{} is on {count} nodes but needs at least {}",
                    service.name,
                    min.max(1)
                ))
            } else {
                max.filter(|m| count > *m).map(|max| {
                    format!(
                        "{} is on {count} nodes but allows at most {max}",
                        service.name
                    )
                })
            }
        })
        .collect()
}
