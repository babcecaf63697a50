//! The lexicographically greatest count vector over layouts in Coopr's preference order.
//!
//! Layouts are generated lazily, best first, from the maximal valid sets of the atoms that still
//! have room (a set's children drop one atom each; every valid set has a better-ranked superset,
//! so the order is exact). Each layout gets the most nodes that still leave a feasible rest; a
//! rest never needs an earlier layout (that layout could have taken the node), so the rest may
//! use any valid set. When an atom fills up, the generation restarts over the atoms with room,
//! passing over what was already decided.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use crate::atoms::{Atoms, bits};
use crate::cover::{Cover, take};
use crate::{Layout, NodeGroup, Problem, SolveError};

/// Most layouts visited before the search gives up.
const LAYOUT_BUDGET: u64 = 5_000_000;

/// Coopr's node-layout comparator: more services, then hardware type, image type and the sorted
/// service names; the atom set breaks no ties (the names already differ).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    services: Reverse<usize>,
    hardwaretype: usize,
    imagetype: usize,
    names: Vec<String>,
    set: u64,
}

fn rank(atoms: &Atoms, set: u64) -> Rank {
    let (hw, img) = atoms.types(set);
    Rank {
        services: Reverse(atoms.service_count(set)),
        hardwaretype: hw.trailing_zeros() as usize,
        imagetype: img.trailing_zeros() as usize,
        names: atoms.services(set),
        set,
    }
}

/// Solves a placement problem: the layout Coopr's solver would choose, or why there is none.
pub fn solve(problem: &Problem) -> Result<Layout, SolveError> {
    check_problem(problem)?;
    let atoms = Atoms::build(problem)?;
    let lo: Vec<u32> = atoms.atoms.iter().map(|a| a.lo).collect();
    let hi: Vec<Option<u32>> = atoms.atoms.iter().map(|a| a.hi).collect();
    search(&atoms, problem.num_machines, lo, hi)
}

pub(crate) fn check_problem(problem: &Problem) -> Result<(), SolveError> {
    if problem.num_machines == 0 {
        return Err(SolveError::infeasible("a cluster needs at least one node"));
    }
    if problem.services.is_empty() {
        return Err(SolveError::infeasible("the cluster has no services"));
    }
    if problem.hardwaretypes.is_empty() {
        return Err(SolveError::infeasible("no hardware type is available"));
    }
    if problem.imagetypes.is_empty() {
        return Err(SolveError::infeasible("no image type is available"));
    }
    Ok(())
}

/// The lexicographically greatest layout of `nodes` nodes given each atom's remaining minimum
/// and maximum.
pub(crate) fn search(
    atoms: &Atoms,
    nodes: u32,
    mut lo: Vec<u32>,
    mut hi: Vec<Option<u32>>,
) -> Result<Layout, SolveError> {
    let mut cover = Cover::new(atoms);
    let mut left = nodes;
    if !cover.feasible(left, &lo, &hi)? {
        return Err(explain(atoms, &mut cover, nodes, &lo, &hi)?);
    }
    let fillers_allowed = !atoms.unconstrained.is_empty();
    let mut decided: Vec<(u64, u32)> = Vec::new();
    let mut last: Option<Rank> = None;
    let mut visited = 0u64;
    'generation: loop {
        let room: u64 = (0..atoms.len())
            .filter(|&a| hi[a] != Some(0))
            .fold(0, |m, a| m | (1 << a));
        let mut heap = BinaryHeap::new();
        let mut seen = HashSet::new();
        for set in cover.maximal_within(room) {
            if (set != 0 || fillers_allowed) && seen.insert(set) {
                heap.push(Reverse(rank(atoms, set)));
            }
        }
        while let Some(Reverse(current)) = heap.pop() {
            visited += 1;
            if visited > LAYOUT_BUDGET {
                return Err(SolveError::TooComplex {
                    steps: visited + cover.steps,
                });
            }
            for a in bits(current.set) {
                let child = current.set & !(1 << a);
                if (child != 0 || fillers_allowed) && seen.insert(child) {
                    heap.push(Reverse(rank(atoms, child)));
                }
            }
            if last.as_ref().is_some_and(|last| current <= *last) {
                continue; // decided in an earlier generation
            }
            let set = current.set;
            last = Some(current);
            let cap = bits(set).filter_map(|a| hi[a]).fold(left, u32::min);
            let (mut low, mut high) = (0u32, cap);
            while low < high {
                let mid = high - (high - low) / 2;
                let next_hi: Vec<Option<u32>> = spend(&hi, set, mid);
                if cover.feasible(left - mid, &take(&lo, set, mid), &next_hi)? {
                    low = mid;
                } else {
                    high = mid - 1;
                }
            }
            if low == 0 {
                continue;
            }
            decided.push((set, low));
            left -= low;
            lo = take(&lo, set, low);
            let filled = bits(set).any(|a| hi[a] == Some(low));
            hi = spend(&hi, set, low);
            if left == 0 {
                break 'generation;
            }
            if filled {
                continue 'generation;
            }
        }
        return Err(SolveError::infeasible(format!(
            "internal: the search ran out of layouts with {left} nodes left; please report this template"
        )));
    }
    Ok(Layout {
        groups: decided
            .into_iter()
            .map(|(set, count)| {
                let (hw, img) = atoms.types(set);
                NodeGroup {
                    hardwaretype: atoms.hardwaretypes[hw.trailing_zeros() as usize].clone(),
                    imagetype: atoms.imagetypes[img.trailing_zeros() as usize].clone(),
                    services: atoms.services(set),
                    count,
                }
            })
            .collect(),
    })
}

fn spend(hi: &[Option<u32>], set: u64, nodes: u32) -> Vec<Option<u32>> {
    hi.iter()
        .enumerate()
        .map(|(a, h)| {
            if set & (1 << a) != 0 {
                h.map(|h| h.saturating_sub(nodes))
            } else {
                *h
            }
        })
        .collect()
}

/// Why `nodes` nodes cannot satisfy the constraints.
fn explain(
    atoms: &Atoms,
    cover: &mut Cover<'_>,
    nodes: u32,
    lo: &[u32],
    hi: &[Option<u32>],
) -> Result<SolveError, SolveError> {
    let most: Option<u64> = hi
        .iter()
        .try_fold(0u64, |sum, h| h.map(|h| sum + u64::from(h)));
    if atoms.unconstrained.is_empty()
        && let Some(most) = most
        && u64::from(nodes) > most
    {
        let limits: Vec<String> = atoms
            .atoms
            .iter()
            .map(|a| format!("{} at most {}", atoms_name(&a.services), a.hi.unwrap_or(0)))
            .collect();
        return Ok(SolveError::infeasible(format!(
            "{nodes} nodes were requested but at most {most} can be used: every service has a maximum ({}) and no \
             service without constraints could fill the other nodes; request at most {most} nodes or raise a maximum",
            limits.join(", ")
        )));
    }
    let needed = cover.chi(lo)?;
    let witness = cover.witness(lo)?;
    let layout: Vec<String> = witness
        .iter()
        .map(|(set, n)| format!("{n} × {}", atoms.describe_set(*set)))
        .collect();
    let involved = witness.iter().fold(0u64, |m, (set, _)| m | set);
    let mut reasons: Vec<String> = atoms
        .conflicts
        .iter()
        .filter(|c| *c & !involved == 0)
        .map(|c| {
            format!(
                "cantcoexist keeps {} apart",
                atoms.describe_set(*c).replace(", ", " / ")
            )
        })
        .collect();
    for a in bits(involved) {
        for b in bits(involved).filter(|&b| b > a) {
            let (hw, img) = atoms.types((1 << a) | (1 << b));
            if hw == 0 || img == 0 {
                let what = if hw == 0 { "hardware" } else { "image" };
                reasons.push(format!(
                    "{} and {} allow no common {what} type",
                    atoms_name(&atoms.atoms[a].services),
                    atoms_name(&atoms.atoms[b].services)
                ));
            }
        }
    }
    let minimums: Vec<String> = bits(involved)
        .filter(|&a| atoms.atoms[a].lo > 1)
        .map(|a| {
            format!(
                "{} needs at least {}",
                atoms_name(&atoms.atoms[a].services),
                atoms.atoms[a].lo
            )
        })
        .collect();
    let mut why = reasons;
    why.extend(minimums);
    Ok(SolveError::infeasible(format!(
        "the constraints need at least {needed} nodes but {nodes} were requested ({}); the smallest layout is {}; \
         request at least {needed} nodes or relax a constraint",
        if why.is_empty() {
            "every service needs a node".to_string()
        } else {
            why.join("; ")
        },
        layout.join(", ")
    )))
}

fn atoms_name(services: &[String]) -> String {
    if services.len() == 1 {
        services[0].clone()
    } else {
        format!("[{}]", services.join(", "))
    }
}
