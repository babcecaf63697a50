//! Support for tests and benchmarks: an exhaustive reference solver written from the
//! specification alone (every subset of the constrained services, 2^N, and every count vector;
//! exponential, never for service), and a generated 30-service problem.

use crate::{Limits, Problem, ServiceLimits};

struct Candidate {
    services: Vec<String>,
    hw: String,
    img: String,
}

/// The layout by exhaustive search: every subset of the constrained services, then every count
/// vector in lexicographically descending order. Returns (services, count) per used layout.
pub fn brute_force(problem: &Problem) -> Option<Vec<(Vec<String>, u32)>> {
    let cluster: Vec<&str> = problem.services.iter().map(|s| s.name.as_str()).collect();
    let in_sets = |n: &str| {
        problem
            .mustcoexist
            .iter()
            .chain(&problem.cantcoexist)
            .any(|set| set.iter().any(|s| s == n))
    };
    let constrained: Vec<&ServiceLimits> = problem
        .services
        .iter()
        .filter(|s| s.limits.is_some() || in_sets(&s.name))
        .collect();
    let free: Vec<String> = problem
        .services
        .iter()
        .filter(|s| s.limits.is_none() && !in_sets(&s.name))
        .map(|s| s.name.clone())
        .collect();
    let mut hws = problem.hardwaretypes.clone();
    hws.sort();
    let mut imgs = problem.imagetypes.clone();
    imgs.sort();
    let mut candidates = Vec::new();
    for mask in 0u32..(1 << constrained.len()) {
        if mask == 0 && free.is_empty() {
            continue;
        }
        let chosen: Vec<&ServiceLimits> = (0..constrained.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| constrained[i])
            .collect();
        let has = |n: &str| chosen.iter().any(|s| s.name == n);
        let cant_ok = problem
            .cantcoexist
            .iter()
            .all(|set| !set.iter().all(|s| has(s)));
        let must_ok = problem.mustcoexist.iter().all(|set| {
            let present: Vec<&String> = set
                .iter()
                .filter(|s| cluster.contains(&s.as_str()))
                .collect();
            present.iter().all(|s| has(s)) || present.iter().all(|s| !has(s))
        });
        if !cant_ok || !must_ok {
            continue;
        }
        let allows = |t: &String, pick: fn(&Limits) -> &Vec<String>| {
            chosen.iter().all(|s| {
                s.limits
                    .as_ref()
                    .is_none_or(|l| pick(l).is_empty() || pick(l).contains(t))
            })
        };
        let hw = hws.iter().find(|t| allows(t, |l| &l.hardwaretypes));
        let img = imgs.iter().find(|t| allows(t, |l| &l.imagetypes));
        if let (Some(hw), Some(img)) = (hw, img) {
            let mut services: Vec<String> = chosen
                .iter()
                .map(|s| s.name.clone())
                .chain(free.iter().cloned())
                .collect();
            services.sort();
            candidates.push(Candidate {
                services,
                hw: hw.clone(),
                img: img.clone(),
            });
        }
    }
    candidates.sort_by(|a, b| {
        b.services
            .len()
            .cmp(&a.services.len())
            .then(a.hw.cmp(&b.hw))
            .then(a.img.cmp(&b.img))
            .then(a.services.cmp(&b.services))
    });
    let mut counts = vec![0u32; candidates.len()];
    fn search(
        i: usize,
        left: u32,
        counts: &mut Vec<u32>,
        candidates: &[Candidate],
        problem: &Problem,
    ) -> bool {
        if i == candidates.len() {
            return left == 0
                && problem.services.iter().all(|s| {
                    let n: u32 = candidates
                        .iter()
                        .zip(counts.iter())
                        .filter(|(c, _)| c.services.contains(&s.name))
                        .map(|(_, n)| *n)
                        .sum();
                    let (min, max) = s.limits.as_ref().map_or((0, None), |l| (l.min, l.max));
                    n >= min.max(1) && max.is_none_or(|m| n <= m)
                });
        }
        for c in (0..=left).rev() {
            counts[i] = c;
            if search(i + 1, left - c, counts, candidates, problem) {
                return true;
            }
        }
        counts[i] = 0;
        false
    }
    search(0, problem.num_machines, &mut counts, &candidates, problem).then(|| {
        candidates
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| (c.services.clone(), n))
            .collect()
    })
}

/// A generated template with 30 constrained services: must groups, cant pairs, quantities and
/// type restrictions (also used by the benchmark).
pub fn thirty_services(nodes: u32) -> Problem {
    let name = |i: usize| format!("s{i:02}");
    let mut services = Vec::new();
    for i in 0..30 {
        let (min, max) = match i {
            0 => (1, Some(1)),
            3 => (1, Some(3)),
            6 => (2, None),
            14 => (0, Some(5)),
            16 => (2, Some(2)),
            22 => (3, Some(40)),
            _ => (0, None),
        };
        let hw: &[&str] = match i {
            20 => &["large"],
            21 => &["small", "large"],
            23 => &["xlarge"],
            _ => &[],
        };
        services.push(ServiceLimits {
            name: name(i),
            limits: Some(Limits {
                hardwaretypes: hw.iter().map(|s| s.to_string()).collect(),
                imagetypes: vec![],
                min,
                max,
            }),
        });
    }
    let pair = |a: usize, b: usize| vec![name(a), name(b)];
    Problem {
        num_machines: nodes,
        hardwaretypes: ["large", "medium", "small", "xlarge"]
            .map(String::from)
            .to_vec(),
        imagetypes: ["debian", "ubuntu"].map(String::from).to_vec(),
        services,
        mustcoexist: vec![
            vec![name(0), name(1), name(2)],
            vec![name(3), name(4), name(5)],
            pair(6, 7),
            pair(8, 9),
            vec![name(10), name(11), name(12)],
        ],
        cantcoexist: vec![
            pair(0, 3),
            pair(6, 8),
            pair(10, 13),
            pair(14, 15),
            pair(16, 17),
            pair(18, 19),
            pair(3, 10),
            pair(20, 23),
            pair(24, 25),
        ],
    }
}
