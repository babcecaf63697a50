//! Feasibility: can `r` more nodes satisfy the remaining minimums and maximums?
//!
//! Valid atom sets are closed under subsets, so counts between the minimums and maximums can be
//! packed onto exactly `r` valid nodes iff χ(lo) ≤ r (χ: the fewest valid nodes that cover every
//! remaining minimum) and, when no unconstrained service can fill a node on its own, r ≤ Σ max:
//! a packing with fewer nodes grows one node at a time by splitting a node or adding a single-atom
//! node with spare room. χ is a multicover number, computed exactly over the maximal valid sets
//! with memoisation, lower bounds and a bulk step when only one maximal set can cover an atom.

use std::collections::{BTreeSet, HashMap};

use crate::SolveError;
use crate::atoms::{Atoms, bits};

/// Most χ states explored before the search gives up.
const CHI_BUDGET: u64 = 2_000_000;

pub(crate) struct Cover<'a> {
    atoms: &'a Atoms,
    /// The maximal valid sets of atoms.
    maximal: Vec<u64>,
    /// Pairs of atoms that can never share a node.
    incompatible: Vec<u64>,
    /// lo vector → (χ, the set the best cover starts with, how many copies of it).
    memo: HashMap<Vec<u32>, (u32, u64, u32)>,
    pub(crate) steps: u64,
}

impl<'a> Cover<'a> {
    pub(crate) fn new(atoms: &'a Atoms) -> Cover<'a> {
        let n = atoms.len();
        let incompatible = (0..n)
            .map(|a| {
                (0..n)
                    .filter(|&b| b != a && !atoms.valid((1 << a) | (1 << b)))
                    .fold(0u64, |m, b| m | (1 << b))
            })
            .collect();
        Cover {
            atoms,
            maximal: maximal_sets(atoms),
            incompatible,
            memo: HashMap::new(),
            steps: 0,
        }
    }

    /// The maximal elements of { T ∩ universe : T maximal }: the maximal valid sets within it.
    pub(crate) fn maximal_within(&self, universe: u64) -> Vec<u64> {
        let restricted: BTreeSet<u64> = self.maximal.iter().map(|t| t & universe).collect();
        let candidates: Vec<u64> = restricted.into_iter().collect();
        candidates
            .iter()
            .copied()
            .filter(|&t| !candidates.iter().any(|&u| u != t && u & t == t))
            .collect()
    }

    /// Whether `r` nodes can carry counts between `lo` and `hi` for every atom.
    pub(crate) fn feasible(
        &mut self,
        r: u32,
        lo: &[u32],
        hi: &[Option<u32>],
    ) -> Result<bool, SolveError> {
        if lo.iter().zip(hi).any(|(l, h)| h.is_some_and(|h| *l > h)) {
            return Ok(false);
        }
        if self.atoms.unconstrained.is_empty() {
            let most: Option<u64> = hi
                .iter()
                .try_fold(0u64, |sum, h| h.map(|h| sum + u64::from(h)));
            if most.is_some_and(|most| u64::from(r) > most) {
                return Ok(false);
            }
        }
        Ok(self.chi(lo)? <= r)
    }

    /// The fewest valid nodes that cover every atom `a` at least `lo[a]` times.
    pub(crate) fn chi(&mut self, lo: &[u32]) -> Result<u32, SolveError> {
        let support = support(lo);
        if support == 0 {
            return Ok(0);
        }
        if self.atoms.valid(support) {
            return Ok(bits(support).map(|a| lo[a]).max().unwrap_or(0));
        }
        if let Some(&(chi, _, _)) = self.memo.get(lo) {
            return Ok(chi);
        }
        self.steps += 1;
        if self.steps > CHI_BUDGET {
            return Err(SolveError::TooComplex { steps: self.steps });
        }
        // branch on the atom with the largest minimum: some node must carry it
        let a = bits(support)
            .max_by_key(|&a| (lo[a], std::cmp::Reverse(a)))
            .unwrap_or(0);
        let candidates: Vec<u64> = self
            .maximal_within(support)
            .into_iter()
            .filter(|t| t & (1 << a) != 0)
            .collect();
        let lower = self.lower_bound(lo, support);
        let mut best = (u32::MAX, 0u64, 0u32);
        if let [only] = candidates[..] {
            // every node carrying `a` may as well carry all of `only`: place lo[a] of them at once
            let copies = lo[a];
            let rest = self.chi(&take(lo, only, copies))?;
            best = (copies + rest, only, copies);
        } else {
            for t in candidates {
                let value = 1 + self.chi(&take(lo, t, 1))?;
                if value < best.0 {
                    best = (value, t, 1);
                }
                if best.0 <= lower {
                    break;
                }
            }
        }
        self.memo.insert(lo.to_vec(), best);
        Ok(best.0)
    }

    /// The largest minimum, or the largest sum of minimums of two atoms that can never share.
    fn lower_bound(&self, lo: &[u32], support: u64) -> u32 {
        let single = bits(support).map(|a| lo[a]).max().unwrap_or(0);
        let pair = bits(support)
            .flat_map(|a| bits(self.incompatible[a] & support).map(move |b| (a, b)))
            .map(|(a, b)| lo[a] + lo[b])
            .max()
            .unwrap_or(0);
        single.max(pair)
    }

    /// A smallest cover of `lo`, as (set, nodes) in the order found.
    pub(crate) fn witness(&mut self, lo: &[u32]) -> Result<Vec<(u64, u32)>, SolveError> {
        let mut lo = lo.to_vec();
        let mut nodes: Vec<(u64, u32)> = Vec::new();
        loop {
            let support = support(&lo);
            if support == 0 {
                return Ok(nodes);
            }
            let (set, copies) = if self.atoms.valid(support) {
                let copies = bits(support).map(|a| lo[a]).min().unwrap_or(1);
                (support, copies)
            } else {
                self.chi(&lo)?;
                match self.memo.get(&lo) {
                    Some(&(_, set, copies)) => (set, copies),
                    None => return Ok(nodes),
                }
            };
            match nodes.last_mut() {
                Some((last, n)) if *last == set => *n += copies,
                _ => nodes.push((set, copies)),
            }
            lo = take(&lo, set, copies);
        }
    }
}

fn support(lo: &[u32]) -> u64 {
    lo.iter()
        .enumerate()
        .filter(|(_, l)| **l > 0)
        .fold(0, |m, (a, _)| m | (1 << a))
}

/// `lo` after `copies` nodes carrying `set` (never below zero).
pub(crate) fn take(lo: &[u32], set: u64, copies: u32) -> Vec<u32> {
    lo.iter()
        .enumerate()
        .map(|(a, l)| {
            if set & (1 << a) != 0 {
                l.saturating_sub(copies)
            } else {
                *l
            }
        })
        .collect()
}

/// Every maximal valid set of atoms, by a depth-first include/exclude search. An atom is only
/// left out where something can still block it; an atom that conflicts with nothing is always in.
fn maximal_sets(atoms: &Atoms) -> Vec<u64> {
    let n = atoms.len();
    if n == 0 {
        return vec![0];
    }
    let mut found = BTreeSet::new();
    let mut stack = vec![(0usize, 0u64, 0u64)];
    while let Some((i, current, excluded)) = stack.pop() {
        let remaining: u64 = if i >= n {
            0
        } else {
            (u64::MAX >> (64 - n)) & !((1u64 << i) - 1)
        };
        // an excluded atom that no future choice can block would make the set non-maximal
        if bits(excluded).any(|j| atoms.valid(current | remaining | (1 << j))) {
            continue;
        }
        if i == n {
            found.insert(current);
            continue;
        }
        let with = current | (1 << i);
        let can_include = atoms.valid(with);
        if can_include && atoms.valid(with | remaining) {
            // nothing ahead can conflict with it: leaving it out never yields a maximal set
            stack.push((i + 1, with, excluded));
            continue;
        }
        stack.push((i + 1, current, excluded | (1 << i)));
        if can_include {
            stack.push((i + 1, with, excluded));
        }
    }
    found.into_iter().collect()
}
