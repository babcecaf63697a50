//! Atoms: constrained services that `mustcoexist` sets chain together, placed all or nothing.
//! Sets of atoms are bitmasks (`u64`), hardware and image types are bitmasks over the sorted
//! candidate lists (`u128`).

use std::collections::BTreeSet;

use crate::{Problem, SolveError};

/// Most constrained atoms a problem may have.
pub(crate) const MAX_ATOMS: usize = 64;
/// Most hardware or image types a problem may offer.
pub(crate) const MAX_TYPES: usize = 128;

#[derive(Debug, Clone)]
pub(crate) struct Atom {
    /// Sorted service names.
    pub(crate) services: Vec<String>,
    /// Fewest nodes (at least 1: every service is placed).
    pub(crate) lo: u32,
    /// Most nodes; `None` is unbounded.
    pub(crate) hi: Option<u32>,
    /// Allowed hardware types (bits over `Atoms::hardwaretypes`).
    pub(crate) hw: u128,
    pub(crate) img: u128,
}

/// The problem recast over atoms.
#[derive(Debug, Clone)]
pub(crate) struct Atoms {
    pub(crate) atoms: Vec<Atom>,
    /// Services on every node, sorted.
    pub(crate) unconstrained: Vec<String>,
    /// `cantcoexist` sets as atom masks: no node may hold a whole one.
    pub(crate) conflicts: Vec<u64>,
    pub(crate) hardwaretypes: Vec<String>,
    pub(crate) imagetypes: Vec<String>,
}

fn type_mask(candidates: &[String], allowed: &[String]) -> u128 {
    candidates
        .iter()
        .enumerate()
        .filter(|(_, t)| allowed.is_empty() || allowed.contains(t))
        .fold(0, |mask, (i, _)| mask | (1u128 << i))
}

fn describe(services: &[String]) -> String {
    if services.len() == 1 {
        services[0].clone()
    } else {
        format!("[{}]", services.join(", "))
    }
}

impl Atoms {
    pub(crate) fn build(problem: &Problem) -> Result<Atoms, SolveError> {
        let cluster: BTreeSet<&str> = problem.services.iter().map(|s| s.name.as_str()).collect();
        let hardwaretypes: Vec<String> = problem
            .hardwaretypes
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let imagetypes: Vec<String> = problem
            .imagetypes
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if hardwaretypes.len() > MAX_TYPES || imagetypes.len() > MAX_TYPES {
            return Err(SolveError::infeasible(format!(
                "more than {MAX_TYPES} hardware or image types are offered"
            )));
        }
        let must: Vec<Vec<&str>> = problem
            .mustcoexist
            .iter()
            .map(|set| {
                set.iter()
                    .map(String::as_str)
                    .filter(|s| cluster.contains(s))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect()
            })
            .collect();
        let cant: Vec<&Vec<String>> = problem.cantcoexist.iter().collect();
        let in_layout_set = |name: &str| {
            must.iter().any(|set| set.len() >= 2 && set.contains(&name))
                || cant.iter().any(|set| set.iter().any(|s| s == name))
        };

        let mut constrained: Vec<&crate::ServiceLimits> = Vec::new();
        let mut unconstrained = Vec::new();
        for service in &problem.services {
            if service.limits.is_some() || in_layout_set(&service.name) {
                constrained.push(service);
            } else {
                unconstrained.push(service.name.clone());
            }
        }
        unconstrained.sort();

        // union-find over constrained services by mustcoexist sets
        let index = |name: &str| constrained.iter().position(|s| s.name == name);
        let mut parent: Vec<usize> = (0..constrained.len()).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        for set in must.iter().filter(|set| set.len() >= 2) {
            let first = set.first().and_then(|s| index(s));
            for other in set.iter().skip(1) {
                if let (Some(a), Some(b)) = (first, index(other)) {
                    let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                    parent[ra] = rb;
                }
            }
        }
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut group_of_root: Vec<Option<usize>> = vec![None; constrained.len()];
        for i in 0..constrained.len() {
            let r = root(&mut parent, i);
            match group_of_root[r] {
                Some(g) => groups[g].push(i),
                None => {
                    group_of_root[r] = Some(groups.len());
                    groups.push(vec![i]);
                }
            }
        }
        if groups.len() > MAX_ATOMS {
            return Err(SolveError::infeasible(format!(
                "the template constrains {} independent service groups; at most {MAX_ATOMS} are supported",
                groups.len()
            )));
        }

        let all_hw = type_mask(&hardwaretypes, &[]);
        let all_img = type_mask(&imagetypes, &[]);
        let mut atoms = Vec::new();
        for group in &groups {
            let mut services: Vec<String> =
                group.iter().map(|&i| constrained[i].name.clone()).collect();
            services.sort();
            let (mut lo, mut hi, mut hw, mut img) = (1u32, None::<u32>, all_hw, all_img);
            let mut lo_from = &services[0];
            let mut hi_from = &services[0];
            for &i in group {
                let service = constrained[i];
                if let Some(limits) = &service.limits {
                    if limits.min > lo {
                        lo = limits.min;
                        lo_from = &service.name;
                    }
                    if let Some(max) = limits.max
                        && hi.is_none_or(|h| max < h)
                    {
                        hi = Some(max);
                        hi_from = &service.name;
                    }
                    hw &= type_mask(&hardwaretypes, &limits.hardwaretypes);
                    img &= type_mask(&imagetypes, &limits.imagetypes);
                }
            }
            let name = describe(&services);
            if let Some(max) = hi
                && max < lo
            {
                return Err(SolveError::infeasible(if max == 0 {
                    format!(
                        "service {hi_from} has quantities.max 0, but every requested service needs at least one node"
                    )
                } else if services.len() == 1 {
                    format!("service {name} needs at least {lo} nodes but allows at most {max}")
                } else {
                    format!(
                        "services {name} must coexist, so they run on the same nodes, but {lo_from} needs at least {lo} nodes and {hi_from} allows at most {max}"
                    )
                }));
            }
            if hw == 0 {
                return Err(SolveError::infeasible(format!(
                    "no hardware type among [{}] is allowed for every one of {name}",
                    hardwaretypes.join(", ")
                )));
            }
            if img == 0 {
                return Err(SolveError::infeasible(format!(
                    "no image type among [{}] is allowed for every one of {name}",
                    imagetypes.join(", ")
                )));
            }
            atoms.push(Atom {
                services,
                lo,
                hi,
                hw,
                img,
            });
        }

        let atom_of = |service: &str| {
            atoms
                .iter()
                .position(|a: &Atom| a.services.iter().any(|s| s == service))
        };
        let mut conflicts = Vec::new();
        for set in &problem.cantcoexist {
            if !set.iter().all(|s| cluster.contains(s.as_str())) {
                continue; // a node cannot hold a service the cluster lacks: the set is moot
            }
            let mask = set
                .iter()
                .filter_map(|s| atom_of(s))
                .fold(0u64, |m, a| m | (1 << a));
            if mask.count_ones() == 1 {
                let atom = &atoms[mask.trailing_zeros() as usize];
                return Err(SolveError::infeasible(format!(
                    "services {} must coexist, but cantcoexist [{}] forbids them on one node",
                    describe(&atom.services),
                    set.join(", ")
                )));
            }
            if !conflicts.contains(&mask) {
                conflicts.push(mask);
            }
        }
        Ok(Atoms {
            atoms,
            unconstrained,
            conflicts,
            hardwaretypes,
            imagetypes,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.atoms.len()
    }

    /// Allowed hardware and image types of a set of atoms (all, for the empty set).
    pub(crate) fn types(&self, set: u64) -> (u128, u128) {
        let all_hw = if self.hardwaretypes.is_empty() {
            0
        } else {
            u128::MAX >> (128 - self.hardwaretypes.len())
        };
        let all_img = if self.imagetypes.is_empty() {
            0
        } else {
            u128::MAX >> (128 - self.imagetypes.len())
        };
        bits(set).fold((all_hw, all_img), |(hw, img), a| {
            (hw & self.atoms[a].hw, img & self.atoms[a].img)
        })
    }

    /// Whether a node may hold exactly these atoms (plus the unconstrained services).
    pub(crate) fn valid(&self, set: u64) -> bool {
        let (hw, img) = self.types(set);
        hw != 0 && img != 0 && self.conflicts.iter().all(|&c| c & !set != 0)
    }

    /// Number of services a node with these atoms carries.
    pub(crate) fn service_count(&self, set: u64) -> usize {
        self.unconstrained.len()
            + bits(set)
                .map(|a| self.atoms[a].services.len())
                .sum::<usize>()
    }

    /// The sorted services of a node with these atoms.
    pub(crate) fn services(&self, set: u64) -> Vec<String> {
        let mut services: Vec<String> = self.unconstrained.clone();
        services.extend(bits(set).flat_map(|a| self.atoms[a].services.iter().cloned()));
        services.sort();
        services
    }

    pub(crate) fn describe_set(&self, set: u64) -> String {
        describe(&self.services(set))
    }
}

/// The indices of the set bits, lowest first.
pub(crate) fn bits(mut set: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if set == 0 {
            return None;
        }
        let i = set.trailing_zeros() as usize;
        set &= set - 1;
        Some(i)
    })
}
