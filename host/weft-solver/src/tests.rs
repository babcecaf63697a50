//! Solver tests: Coopr's worked example, explanations, and a brute-force reference that the
//! solver must match exactly on random small problems.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use crate::{Layout, Limits, NodeGroup, Problem, ServiceLimits, SolveError, solve};

fn limits(hw: &[&str], img: &[&str], min: u32, max: Option<u32>) -> Option<Limits> {
    Some(Limits {
        hardwaretypes: hw.iter().map(|s| s.to_string()).collect(),
        imagetypes: img.iter().map(|s| s.to_string()).collect(),
        min,
        max,
    })
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// coopr-notes §3.4: five layouts in this preference order, namenode exactly 1, datanode 1..50,
/// zookeeper 1..5, reactor 1..5. Hardware types are named so that Coopr's comparator yields
/// the documented order.
fn coopr_example(nodes: u32) -> Problem {
    let big = |name: &str, hw: &str, min, max| ServiceLimits {
        name: name.into(),
        limits: limits(&[hw], &[], min, max),
    };
    Problem {
        num_machines: nodes,
        hardwaretypes: strings(&[
            "a-large-mem",
            "b-large-cpu",
            "c-medium-1",
            "d-medium-2",
            "e-large",
        ]),
        imagetypes: strings(&["ubuntu"]),
        services: vec![
            big("namenode", "a-large-mem", 1, Some(1)),
            big("resourcemanager", "a-large-mem", 0, None),
            big("hbasemaster", "a-large-mem", 0, None),
            big("datanode", "b-large-cpu", 1, Some(50)),
            big("nodemanager", "b-large-cpu", 0, None),
            big("regionserver", "b-large-cpu", 0, None),
            ServiceLimits {
                name: "zookeeper".into(),
                limits: limits(&["c-medium-1", "d-medium-2"], &[], 1, Some(5)),
            },
            ServiceLimits {
                name: "reactor".into(),
                limits: limits(&["d-medium-2", "e-large"], &[], 1, Some(5)),
            },
        ],
        mustcoexist: vec![
            strings(&["namenode", "resourcemanager", "hbasemaster"]),
            strings(&["datanode", "nodemanager", "regionserver"]),
        ],
        cantcoexist: vec![],
    }
}

fn counts(layout: &Layout) -> Vec<(Vec<String>, u32)> {
    layout
        .groups
        .iter()
        .map(|g| (g.services.clone(), g.count))
        .collect()
}

#[test]
fn coopr_worked_example_counts() {
    let master = strings(&["hbasemaster", "namenode", "resourcemanager"]);
    let slave = strings(&["datanode", "nodemanager", "regionserver"]);
    let both = strings(&["reactor", "zookeeper"]);
    for (nodes, expected) in [(5, [1, 3, 1]), (10, [1, 8, 1]), (54, [1, 50, 3])] {
        let layout = solve(&coopr_example(nodes)).unwrap();
        assert_eq!(
            counts(&layout),
            vec![
                (master.clone(), expected[0]),
                (slave.clone(), expected[1]),
                (both.clone(), expected[2])
            ],
            "{nodes} nodes"
        );
        assert_eq!(layout.groups[1].hardwaretype, "b-large-cpu");
        assert_eq!(layout.groups[2].hardwaretype, "d-medium-2");
    }
}

#[test]
fn explanations_name_constraints_services_and_counts() {
    let explain = |problem: &Problem| match solve(problem) {
        Err(SolveError::Infeasible(why)) => why.explanation,
        other => panic!("expected infeasible, got {other:?}"),
    };
    // more nodes than the maximums allow, and nothing unconstrained to fill them
    let why = explain(&coopr_example(62));
    assert!(
        why.contains("at most 61 can be used") && why.contains("request at most 61"),
        "{why}"
    );
    // minimums that need more nodes than requested
    let mut tight = coopr_example(2);
    tight.services[3].limits.as_mut().unwrap().min = 2;
    let why = explain(&tight);
    assert!(
        why.contains("need at least 4 nodes but 2 were requested")
            && why.contains("datanode, nodemanager, regionserver] needs at least 2"),
        "{why}"
    );
    assert!(why.contains("allow no common hardware type"), "{why}");
    // a mustcoexist group whose quantities contradict each other
    let mut contradict = coopr_example(5);
    contradict.services[4].limits.as_mut().unwrap().max = Some(1);
    contradict.services[3].limits.as_mut().unwrap().min = 2;
    let why = explain(&contradict);
    assert!(
        why.contains("must coexist")
            && why.contains("datanode needs at least 2")
            && why.contains("nodemanager allows at most 1"),
        "{why}"
    );
    // a cantcoexist set inside a mustcoexist group
    let mut inside = coopr_example(5);
    inside.cantcoexist = vec![strings(&["namenode", "hbasemaster"])];
    assert!(
        explain(&inside).contains("cantcoexist [namenode, hbasemaster] forbids them on one node")
    );
    // no hardware type allowed for a whole group
    let mut disjoint = coopr_example(5);
    disjoint.services[1].limits = limits(&["e-large"], &[], 0, None);
    assert!(explain(&disjoint).contains("no hardware type"));
}

#[test]
fn unconstrained_services_go_on_every_node_and_fill_the_rest() {
    let problem = Problem {
        num_machines: 4,
        hardwaretypes: strings(&["small", "large"]),
        imagetypes: strings(&["debian"]),
        services: vec![
            ServiceLimits {
                name: "base".into(),
                limits: None,
            },
            ServiceLimits {
                name: "primary".into(),
                limits: limits(&[], &[], 1, Some(1)),
            },
            ServiceLimits {
                name: "replica".into(),
                limits: None,
            },
        ],
        mustcoexist: vec![],
        cantcoexist: vec![strings(&["primary", "replica"])],
    };
    let layout = solve(&problem).unwrap();
    assert_eq!(
        layout.groups,
        vec![
            NodeGroup {
                hardwaretype: "large".into(),
                imagetype: "debian".into(),
                services: strings(&["base", "primary"]),
                count: 1
            },
            NodeGroup {
                hardwaretype: "large".into(),
                imagetype: "debian".into(),
                services: strings(&["base", "replica"]),
                count: 3
            },
        ],
        "the alphabetically first hardware type is chosen, as Coopr does"
    );
}

use crate::testing::{brute_force, thirty_services};

/// Every constraint holds for a returned layout (checked without the solver's own machinery).
fn check_layout(problem: &Problem, layout: &Layout) {
    assert_eq!(layout.total_nodes(), problem.num_machines);
    for group in &layout.groups {
        assert!(group.count > 0 && !group.services.is_empty());
        for set in &problem.cantcoexist {
            assert!(
                !set.iter().all(|s| group.services.contains(s)),
                "cantcoexist {set:?} broken by {group:?}"
            );
        }
        for set in &problem.mustcoexist {
            let present: Vec<&String> = set
                .iter()
                .filter(|s| problem.services.iter().any(|p| &p.name == *s))
                .collect();
            let on = present
                .iter()
                .filter(|s| group.services.contains(s))
                .count();
            assert!(
                on == 0 || on == present.len(),
                "mustcoexist {set:?} broken by {group:?}"
            );
        }
        for service in &problem.services {
            if let Some(l) = &service.limits
                && group.services.contains(&service.name)
            {
                assert!(
                    l.hardwaretypes.is_empty() || l.hardwaretypes.contains(&group.hardwaretype)
                );
                assert!(l.imagetypes.is_empty() || l.imagetypes.contains(&group.imagetype));
            }
        }
    }
    for service in &problem.services {
        let n = layout.count_of(&service.name);
        let (min, max) = service
            .limits
            .as_ref()
            .map_or((0, None), |l| (l.min, l.max));
        assert!(
            n >= min.max(1) && max.is_none_or(|m| n <= m),
            "{} on {n} nodes",
            service.name
        );
    }
}

fn small_problem() -> impl Strategy<Value = Problem> {
    let names = ["a", "b", "c", "d"];
    let service = (
        any::<bool>(),
        0u32..3,
        prop::option::of(1u32..4),
        prop::sample::subsequence(vec!["h1", "h2", "h3"], 0..=2),
        prop::sample::subsequence(vec!["i1", "i2"], 0..=1),
    );
    (
        2usize..=4,
        prop::collection::vec(service, 4),
        prop::collection::vec(prop::sample::subsequence(names.to_vec(), 2..=3), 0..=2),
        prop::collection::vec(prop::sample::subsequence(names.to_vec(), 2..=3), 0..=2),
        1u32..=5,
    )
        .prop_map(move |(n, specs, must, cant, nodes)| Problem {
            num_machines: nodes,
            hardwaretypes: strings(&["h1", "h2", "h3"]),
            imagetypes: strings(&["i1", "i2"]),
            services: names[..n]
                .iter()
                .zip(specs)
                .map(|(name, (constrained, min, max, hw, img))| ServiceLimits {
                    name: name.to_string(),
                    limits: constrained.then(|| Limits {
                        hardwaretypes: strings(&hw),
                        imagetypes: strings(&img),
                        min,
                        max,
                    }),
                })
                .collect(),
            mustcoexist: must.into_iter().map(|s| strings(&s)).collect(),
            cantcoexist: cant.into_iter().map(|s| strings(&s)).collect(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn solver_matches_the_brute_force_reference(problem in small_problem()) {
        let expected = brute_force(&problem);
        match solve(&problem) {
            Ok(layout) => {
                check_layout(&problem, &layout);
                prop_assert_eq!(Some(counts(&layout)), expected, "{:?}", problem);
            }
            Err(SolveError::Infeasible(why)) => prop_assert!(expected.is_none(), "solver says {} but {:?} works", why.explanation, expected),
            Err(other) => prop_assert!(false, "{other}"),
        }
    }

    #[test]
    fn solving_is_deterministic(problem in small_problem()) {
        prop_assert_eq!(solve(&problem), solve(&problem));
    }
}

#[test]
fn thirty_constrained_services_on_ten_thousand_nodes() {
    let started = std::time::Instant::now();
    let problem = thirty_services(10_000);
    let layout = solve(&problem).unwrap();
    check_layout(&problem, &layout);
    eprintln!(
        "30 services, 10,000 nodes: {} groups in {:?}",
        layout.groups.len(),
        started.elapsed()
    );
    let mut infeasible = thirty_services(10_000);
    infeasible.services[16].limits.as_mut().unwrap().min = 3;
    assert!(matches!(solve(&infeasible), Err(SolveError::Infeasible(_))));
}

mod coopr_catalog {
    use weft_catalog::Catalog;
    use weft_model::ClusterTemplate;

    use super::{check_layout, strings};
    use crate::{ClusterRequest, SolveError, prepare, solve};

    fn catalog() -> Catalog {
        weft_testkit::coopr_catalog()
    }

    fn template(catalog: &Catalog, name: &str) -> ClusterTemplate {
        weft_catalog::resolve(&catalog.clustertemplates[name], catalog).unwrap()
    }

    #[test]
    fn hadoop_distributed_at_5_50_and_500_nodes() {
        let catalog = catalog();
        let hadoop = template(&catalog, "hadoop-distributed");
        for nodes in [5, 50, 500] {
            let problem = prepare(
                &hadoop,
                &ClusterRequest {
                    num_machines: nodes,
                    ..Default::default()
                },
                &catalog,
            )
            .unwrap();
            assert_eq!(
                (problem.hardwaretypes.clone(), problem.imagetypes.clone()),
                (strings(&["standard-large"]), strings(&["ubuntu12"]))
            );
            let layout = solve(&problem).unwrap();
            check_layout(&problem, &layout);
            let groups: Vec<(Vec<String>, u32)> = layout
                .groups
                .iter()
                .map(|g| (g.services.clone(), g.count))
                .collect();
            assert_eq!(
                groups,
                vec![
                    (
                        strings(&[
                            "base",
                            "hadoop-hdfs-namenode",
                            "hadoop-yarn-resourcemanager",
                            "hbase-master",
                            "zookeeper-server"
                        ]),
                        1
                    ),
                    (
                        strings(&[
                            "base",
                            "hadoop-hdfs-datanode",
                            "hadoop-yarn-nodemanager",
                            "hbase-regionserver"
                        ]),
                        nodes - 1
                    ),
                ]
            );
        }
    }

    #[test]
    fn every_coopr_template_solves_at_its_minimum_size() {
        let catalog = catalog();
        for (name, raw) in &catalog.clustertemplates {
            let resolved = template(&catalog, name);
            let nodes = u32::try_from(raw.constraints.size.min.unwrap_or(1))
                .unwrap()
                .max(1);
            let request = ClusterRequest {
                num_machines: nodes,
                ..Default::default()
            };
            match prepare(&resolved, &request, &catalog).and_then(|p| solve(&p).map(|l| (p, l))) {
                Ok((problem, layout)) => check_layout(&problem, &layout),
                // Coopr's own catalog ships this template with a default service it lacks
                Err(SolveError::Infeasible(why)) if name == "coopr-standalone-docker" => {
                    assert!(
                        why.explanation
                            .contains("'coopr-standalone' does not exist"),
                        "{why:?}"
                    )
                }
                Err(other) => panic!("{name} at {nodes} nodes: {other}"),
            }
        }
    }

    #[test]
    fn request_errors_name_their_field() {
        let catalog = catalog();
        let hadoop = template(&catalog, "hadoop-distributed");
        let field = |request: ClusterRequest| match prepare(&hadoop, &request, &catalog) {
            Err(SolveError::Request(e)) => e.field,
            Err(SolveError::Missing { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let nodes = |n| ClusterRequest {
            num_machines: n,
            ..Default::default()
        };
        assert_eq!(field(nodes(2)), "numMachines");
        assert_eq!(field(nodes(10_001)), "numMachines");
        assert_eq!(
            field(ClusterRequest {
                provider: Some("nowhere".into()),
                ..nodes(5)
            }),
            "provider"
        );
        assert_eq!(
            field(ClusterRequest {
                hardwaretype: Some("standard-small".into()),
                ..nodes(5)
            }),
            "hardwaretype"
        );
        assert_eq!(
            field(ClusterRequest {
                imagetype: Some("ghost".into()),
                ..nodes(5)
            }),
            "imagetype"
        );
        assert_eq!(
            field(ClusterRequest {
                imagetype: Some("centos7".into()),
                ..nodes(5)
            }),
            "imagetype",
            "not compatible"
        );
        assert_eq!(
            field(ClusterRequest {
                services: Some(strings(&["base", "nginx"])),
                ..nodes(5)
            }),
            "services[1]"
        );
        let missing_dependency = ClusterRequest {
            services: Some(strings(&["hadoop-hdfs-namenode"])),
            ..nodes(5)
        };
        match prepare(&hadoop, &missing_dependency, &catalog) {
            Err(SolveError::Infeasible(why)) => assert!(
                why.explanation
                    .contains("hadoop-hdfs-namenode requires base"),
                "{why:?}"
            ),
            other => panic!("{other:?}"),
        }
    }
}

mod existing_clusters {
    use proptest::prelude::*;

    use super::{check_layout, limits, small_problem, strings};
    use crate::{
        ExistingNode, Layout, Problem, ServiceLimits, SolveError, add_nodes, add_services,
        check_existing, solve,
    };

    fn nodes_of(layout: &Layout) -> Vec<ExistingNode> {
        layout
            .groups
            .iter()
            .flat_map(|g| {
                (0..g.count).map(|_| ExistingNode {
                    hardwaretype: g.hardwaretype.clone(),
                    imagetype: g.imagetype.clone(),
                    services: g.services.clone(),
                })
            })
            .collect()
    }

    fn web_cluster() -> Problem {
        Problem {
            num_machines: 3,
            hardwaretypes: strings(&["large", "small"]),
            imagetypes: strings(&["debian"]),
            services: vec![
                ServiceLimits {
                    name: "base".into(),
                    limits: None,
                },
                ServiceLimits {
                    name: "web".into(),
                    limits: limits(&[], &[], 2, None),
                },
                ServiceLimits {
                    name: "db".into(),
                    limits: limits(&["large"], &[], 1, Some(1)),
                },
            ],
            mustcoexist: vec![],
            cantcoexist: vec![strings(&["web", "db"])],
        }
    }

    fn explanation(result: Result<impl std::fmt::Debug, SolveError>) -> String {
        match result {
            Err(SolveError::Infeasible(why)) => why.explanation,
            other => panic!("expected infeasible, got {other:?}"),
        }
    }

    #[test]
    fn template_sync_lists_every_violation() {
        let problem = web_cluster();
        let nodes = nodes_of(&solve(&problem).unwrap());
        check_existing(&problem, &nodes).unwrap();
        let mut stricter = problem.clone();
        stricter.services[1].limits = limits(&["small"], &[], 3, None);
        stricter.hardwaretypes = strings(&["small"]);
        let why = explanation(check_existing(&stricter, &nodes));
        assert!(
            why.contains("hardware type large, which the template does not allow"),
            "{why}"
        );
        assert!(
            why.contains("web is on 2 nodes but needs at least 3"),
            "{why}"
        );
        let mut mixed = nodes.clone();
        mixed[0].services.push("web".into());
        let why = explanation(check_existing(&problem, &mixed));
        assert!(
            why.contains("node 1 holds all of cantcoexist [web, db]"),
            "{why}"
        );
    }

    #[test]
    fn add_nodes_scales_out_under_the_same_constraints() {
        let problem = web_cluster();
        let existing = nodes_of(&solve(&problem).unwrap());
        let added = add_nodes(&problem, &existing, 2).unwrap();
        assert_eq!(added.groups.len(), 1);
        assert_eq!(
            (added.groups[0].services.clone(), added.groups[0].count),
            (strings(&["base", "web"]), 2),
            "db is full: new nodes serve web"
        );
        let mut all = existing.clone();
        all.extend(nodes_of(&added));
        check_existing(
            &Problem {
                num_machines: 5,
                ..problem.clone()
            },
            &all,
        )
        .unwrap();
        let mut capped = problem.clone();
        capped.services[1].limits = limits(&[], &[], 2, Some(2));
        capped.services[0].limits = limits(&[], &[], 0, Some(3));
        let why = explanation(add_nodes(&capped, &existing, 1));
        assert!(why.contains("at most"), "{why}");
    }

    #[test]
    fn add_services_never_moves_existing_ones() {
        let mut problem = web_cluster();
        let existing = nodes_of(&solve(&problem).unwrap());
        problem.services.push(ServiceLimits {
            name: "monitor".into(),
            limits: None,
        });
        problem.services.push(ServiceLimits {
            name: "cache".into(),
            limits: limits(&[], &[], 1, Some(1)),
        });
        problem.mustcoexist.push(strings(&["web", "proxy"]));
        problem.services.push(ServiceLimits {
            name: "proxy".into(),
            limits: None,
        });
        let changes = add_services(
            &problem,
            &existing,
            &strings(&["monitor", "cache", "proxy"]),
        )
        .unwrap();
        let mut after = existing.clone();
        for (i, added) in &changes {
            after[*i].services.extend(added.iter().cloned());
        }
        for (before, now) in existing.iter().zip(&after) {
            assert!(
                before.services.iter().all(|s| now.services.contains(s)),
                "existing services stay"
            );
            assert_eq!(
                (&before.hardwaretype, &before.imagetype),
                (&now.hardwaretype, &now.imagetype)
            );
        }
        check_existing(&problem, &after).unwrap();
        assert!(
            after
                .iter()
                .all(|n| n.services.contains(&"monitor".to_string())),
            "unconstrained: every node"
        );
        assert_eq!(
            after
                .iter()
                .filter(|n| n.services.contains(&"cache".to_string()))
                .count(),
            1
        );
        assert!(after.iter().all(|n| n.services.contains(&"web".to_string())
            == n.services.contains(&"proxy".to_string())));
        // a service no node may take
        problem.services.push(ServiceLimits {
            name: "lb".into(),
            limits: limits(&["small"], &[], 1, None),
        });
        problem.cantcoexist.push(strings(&["lb", "web"]));
        let why = explanation(add_services(&problem, &existing, &strings(&["lb"])));
        assert!(why.contains("lb can go on no existing node"), "{why}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Strip some services off a solved layout: adding them back must succeed (the original
        /// layout proves a placement exists) and satisfy every constraint.
        #[test]
        fn services_stripped_from_a_layout_can_be_added_back(problem in small_problem(), strip in proptest::sample::subsequence(vec![0usize, 1, 2, 3], 1..=2)) {
            let Ok(layout) = solve(&problem) else { return Ok(()) };
            let removed: Vec<String> = strip.iter().filter_map(|&i| problem.services.get(i)).map(|s| s.name.clone()).collect();
            prop_assume!(!removed.is_empty() && removed.len() < problem.services.len());
            let existing: Vec<ExistingNode> = nodes_of(&layout)
                .into_iter()
                .map(|mut n| { n.services.retain(|s| !removed.contains(s)); n })
                .collect();
            match add_services(&problem, &existing, &removed) {
                Ok(changes) => {
                    let mut after = existing.clone();
                    for (i, added) in changes {
                        after[i].services.extend(added);
                    }
                    prop_assert!(check_existing(&problem, &after).is_ok(), "{:?}", check_existing(&problem, &after));
                }
                Err(e) => prop_assert!(false, "{e} although {layout:?} exists"),
            }
        }

        #[test]
        fn added_nodes_keep_every_constraint(problem in small_problem(), extra in 1u32..4) {
            let Ok(layout) = solve(&problem) else { return Ok(()) };
            let existing = nodes_of(&layout);
            if let Ok(added) = add_nodes(&problem, &existing, extra) {
                let mut combined = layout.clone();
                combined.groups.extend(added.groups);
                check_layout(&Problem { num_machines: problem.num_machines + extra, ..problem.clone() }, &combined);
            }
        }
    }
}
