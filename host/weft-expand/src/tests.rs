//! Macro tests: the documented examples, the semantics rules and positioned syntax errors.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use crate::{Cluster, ExpandError, Node, check, expand_str, expand_value};

fn node(id: &str, nodenum: u32, services: &[&str]) -> Node {
    Node {
        id: id.into(),
        nodenum,
        hostname: Some(format!("c53-{nodenum}.local")),
        ipaddresses: [
            ("bind_v4".to_string(), format!("10.0.0.{}", nodenum - 999)),
            (
                "access_v4".to_string(),
                format!("203.0.113.{}", nodenum - 999),
            ),
        ]
        .into(),
        services: services.iter().map(|s| s.to_string()).collect(),
    }
}

fn nodes() -> Vec<Node> {
    // deliberately out of node-number order: macros order by nodenum
    vec![
        node("c", 1002, &["zk", "web"]),
        node("a", 1000, &["zk", "nn"]),
        node("b", 1001, &["zk", "web"]),
    ]
}

fn expand(text: &str, this: Option<&str>) -> Result<String, ExpandError> {
    let nodes = nodes();
    expand_str(
        text,
        &Cluster {
            nodes: &nodes,
            owner: "ann",
            this_node: this,
        },
    )
}

#[test]
fn documented_examples() {
    let cases = [
        (
            "hdfs://%host.service.nn%:8020",
            "hdfs://c53-1000.local:8020",
        ),
        (
            "%host.service.zk%",
            "c53-1000.local,c53-1001.local,c53-1002.local",
        ),
        ("%ip.service.web%", "10.0.0.2,10.0.0.3"),
        ("%ip.access_v4.service.web%", "203.0.113.2,203.0.113.3"),
        ("%host.service.zk[1]%", "c53-1001.local"),
        ("%ip.service.zk[0]%", "10.0.0.1"),
        ("%ip.access_v4.service.zk[2]%", "203.0.113.3"),
        ("%num.service.zk%", "3"),
        ("%num.service.absent%", "0"),
        (
            "%join(map(host.service.zk,'$:2181'),',')%",
            "c53-1000.local:2181,c53-1001.local:2181,c53-1002.local:2181",
        ),
        (
            "%join(map(ip.service.web,'server $:8080;'),' ')%",
            "server 10.0.0.2:8080; server 10.0.0.3:8080;",
        ),
        (
            "%join(host.service.web,\" \")%",
            "c53-1001.local c53-1002.local",
        ),
        ("%join(host.service.web)%", "c53-1001.local,c53-1002.local"),
        (
            "%map(host.service.web,'$$$')%",
            "$c53-1001.local,$c53-1002.local",
        ),
        ("owner=%cluster.owner%", "owner=ann"),
        ("100%% of %num.service.web%", "100% of 2"),
        ("no macros here", "no macros here"),
    ];
    for (text, expected) in cases {
        assert_eq!(expand(text, None).unwrap(), expected, "{text}");
    }
}

#[test]
fn self_macros_use_the_task_node() {
    assert_eq!(expand("%host.self%", Some("b")).unwrap(), "c53-1001.local");
    assert_eq!(
        expand("%ip.self%/%ip.access_v4.self%", Some("b")).unwrap(),
        "10.0.0.2/203.0.113.2"
    );
    assert_eq!(
        expand("myid=%instance.self.service.zk%", Some("c")).unwrap(),
        "myid=3"
    );
    assert!(matches!(
        expand("%instance.self.service.nn%", Some("c")),
        Err(ExpandError::Incomplete { .. })
    ));
    assert!(matches!(
        expand("%host.self%", None),
        Err(ExpandError::Incomplete { .. })
    ));
}

#[test]
fn absent_services_and_untouched_strings() {
    assert_eq!(
        expand("%host.service.svc4%", None).unwrap(),
        "%host.service.svc4%",
        "no macro expanded: untouched"
    );
    assert_eq!(
        expand("a=%host.service.svc4% b=%num.service.nn%", None).unwrap(),
        "a= b=1"
    );
    assert_eq!(
        expand("%join(map(ip.service.svc4,'$:1'),' ')%", None).unwrap(),
        "%join(map(ip.service.svc4,'$:1'),' ')%"
    );
}

#[test]
fn incomplete_clusters_are_errors() {
    let mut unconfirmed = nodes();
    unconfirmed[0].ipaddresses.clear();
    let cluster = Cluster {
        nodes: &unconfirmed,
        owner: "ann",
        this_node: None,
    };
    let error = expand_str("%ip.service.web%", &cluster).unwrap_err();
    assert_eq!(
        error.to_string(),
        "incomplete cluster: node 1002 has no bind_v4 address yet"
    );
    assert!(
        matches!(expand("%host.service.zk[3]%", None), Err(ExpandError::Incomplete { message, .. }) if message.contains("out of range"))
    );
}

#[test]
fn syntax_errors_point_at_the_position() {
    let cases = [
        ("x %host.service.zk", 2, "not closed"),
        ("%host.self.service.zk%", 10, "unexpected text"),
        ("%hots.service.zk%", 1, "unknown macro"),
        ("ab %join(host.service.zk,;)%", 25, "quoted literal"),
        ("%map(host.service.zk)%", 20, "expected ','"),
        ("%host.service.zk[x]%", 17, "number"),
        ("%ip..service.zk%", 4, "address type"),
        ("%num.service.%", 13, "service name"),
    ];
    for (text, position, message) in cases {
        let error = check(text).unwrap_err();
        assert_eq!(error.position, position, "{text}: {error}");
        assert!(error.message.contains(message), "{text}: {error}");
    }
}

#[test]
fn json_values_expand_in_place_and_errors_name_the_path() {
    let nodes = nodes();
    let cluster = Cluster {
        nodes: &nodes,
        owner: "ann",
        this_node: Some("a"),
    };
    let config = json!({"hadoop": {"core_site": {"fs.defaultFS": "hdfs://%host.service.nn%"}}, "zk": ["%num.service.zk%", 3, true], "%host.self%": "key stays"});
    let expanded = expand_value(&config, &cluster).unwrap();
    assert_eq!(
        expanded,
        json!({"hadoop": {"core_site": {"fs.defaultFS": "hdfs://c53-1000.local"}}, "zk": ["3", 3, true], "%host.self%": "key stays"})
    );
    let broken = json!({"a": {"b": ["ok", "%nope%"]}});
    let error = expand_value(&broken, &cluster).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("a.b[1]: macro syntax error at position 1"),
        "{error}"
    );
}

mod properties {
    use proptest::prelude::*;

    use crate::{Cluster, expand_str};

    proptest! {
        #[test]
        fn text_without_percent_is_never_changed(text in "[^%]{0,64}") {
            let cluster = Cluster { nodes: &[], owner: "o", this_node: None };
            prop_assert_eq!(expand_str(&text, &cluster).unwrap(), text);
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,64}") {
            let _ = crate::check(&text);
        }
    }
}
