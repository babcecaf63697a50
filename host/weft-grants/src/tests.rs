//! Grant tests: each capability allowed when granted and denied otherwise.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use crate::{AddressClass, Grants, HostPattern, HttpGrant, classify};

fn grants(http: &[&str]) -> Grants {
    Grants {
        http: http.iter().map(|g| HttpGrant::parse(g).unwrap()).collect(),
        ..Grants::default()
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn grants_parse_and_refuse_what_they_cannot_mean() {
    assert_eq!(
        HttpGrant::parse("https://API.example.com").unwrap().host,
        HostPattern::Name("api.example.com".into())
    );
    assert_eq!(
        HttpGrant::parse("https://*.example.com:8443").unwrap().port,
        Some(8443)
    );
    assert_eq!(
        HttpGrant::parse("http://[::ffff:127.0.0.1]:2375")
            .unwrap()
            .host,
        HostPattern::Address(ip("127.0.0.1"))
    );
    for bad in [
        "ftp://x.com",
        "x.com",
        "https://",
        "https://x.com/path",
        "https://user@x.com",
        "https://*.com",
        "https://x.com:0",
        "https://x.com:99999",
        "https://bad_host",
    ] {
        assert!(HttpGrant::parse(bad).is_err(), "{bad} should not parse");
    }
}

#[test]
fn an_empty_grant_denies_everything() {
    let none = Grants::none();
    assert!(none.check_url("https", "example.com", None).is_err());
    assert!(none.check_ssh("node-1").is_err());
    assert!(none.check_unix_socket("/var/run/docker.sock").is_err());
}

#[test]
fn urls_match_scheme_host_and_port() {
    let g = grants(&[
        "https://api.example.com",
        "https://*.cloud.test:8443",
        "http://127.0.0.1:2375",
    ]);
    assert!(g.check_url("https", "api.example.com", None).is_ok());
    assert!(
        g.check_url("https", "API.Example.com.", Some(443)).is_ok(),
        "case and a trailing dot do not matter"
    );
    assert!(
        g.check_url("http", "api.example.com", None).is_err(),
        "scheme"
    );
    assert!(
        g.check_url("https", "api.example.com", Some(8443)).is_err(),
        "port"
    );
    assert!(
        g.check_url("https", "evil.example.com", None).is_err(),
        "another name"
    );
    assert!(
        g.check_url("https", "a.b.cloud.test", Some(8443)).is_ok(),
        "wildcard"
    );
    assert!(
        g.check_url("https", "cloud.test", Some(8443)).is_err(),
        "a wildcard does not match its own suffix"
    );
    assert!(g.check_url("https", "xcloud.test", Some(8443)).is_err());
    assert!(g.check_url("http", "127.0.0.1", Some(2375)).is_ok());
    assert!(
        g.check_url("gopher", "api.example.com", None)
            .unwrap_err()
            .0
            .contains("scheme")
    );
}

#[test]
fn resolved_addresses_must_be_public_unless_named() {
    let by_name = HttpGrant::parse("https://api.example.com").unwrap();
    assert!(
        by_name
            .check_addresses("api.example.com", &[ip("93.184.216.34")])
            .is_ok()
    );
    for private in [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "169.254.169.254",
        "169.254.10.1",
        "::1",
        "fd00:ec2::254",
        "fe80::1",
        "::ffff:10.0.0.1",
        "100.64.0.1",
        "0.0.0.0",
    ] {
        let denied =
            by_name.check_addresses("api.example.com", &[ip("93.184.216.34"), ip(private)]);
        assert!(denied.is_err(), "{private} must be refused");
    }
    let metadata = by_name
        .check_addresses("api.example.com", &[ip("169.254.169.254")])
        .unwrap_err();
    assert!(metadata.0.contains("cloud-metadata"), "{metadata}");
    assert!(by_name.check_addresses("api.example.com", &[]).is_err());
    let named = HttpGrant::parse("http://127.0.0.1:8080").unwrap();
    assert!(
        named
            .check_addresses("127.0.0.1", &[ip("127.0.0.1")])
            .is_ok(),
        "a grant naming the address allows it"
    );
    assert!(
        named
            .check_addresses("127.0.0.1", &[ip("::ffff:127.0.0.1")])
            .is_ok()
    );
    assert!(
        named
            .check_addresses("127.0.0.1", &[ip("127.0.0.2")])
            .is_err()
    );
}

#[test]
fn ssh_and_sockets_need_their_own_grant() {
    let g = Grants {
        ssh_targets: vec!["node-1001".into()],
        unix_sockets: vec!["/var/run/docker.sock".into()],
        ..Grants::default()
    };
    assert!(g.check_ssh("node-1001").is_ok());
    assert!(
        g.check_ssh("node-1002")
            .unwrap_err()
            .0
            .contains("node-1002")
    );
    assert!(g.check_unix_socket("/var/run/docker.sock").is_ok());
    assert!(g.check_unix_socket("/run/other.sock").is_err());
}

#[test]
fn declared_approved_and_task_grants_intersect() {
    let mut declared = grants(&[
        "https://*.example.com",
        "https://api.other.test",
        "http://127.0.0.1:2375",
    ]);
    declared.ssh_targets = vec!["node-1".into(), "node-2".into()];
    let mut approved = grants(&[
        "https://api.example.com",
        "https://*.other.test",
        "https://unrelated.test",
    ]);
    approved.ssh_targets = vec!["node-2".into()];
    let effective = declared.intersect(&approved);
    assert_eq!(effective, {
        let mut g = grants(&["https://api.example.com", "https://api.other.test"]);
        g.ssh_targets = vec!["node-2".into()];
        g
    });
    assert_eq!(
        effective.intersect(&Grants::none()),
        Grants::none(),
        "intersecting with nothing grants nothing"
    );
}

proptest! {
    #[test]
    fn ipv4_mapped_addresses_are_judged_as_ipv4(a: u8, b: u8, c: u8, d: u8) {
        let v4 = Ipv4Addr::new(a, b, c, d);
        prop_assert_eq!(classify(IpAddr::V6(v4.to_ipv6_mapped())), classify(IpAddr::V4(v4)));
    }

    #[test]
    fn only_public_addresses_pass_a_name_grant(a: u8, b: u8, c: u8, d: u8) {
        let address = IpAddr::V4(Ipv4Addr::new(a, b, c, d));
        let grant = HttpGrant::parse("https://api.example.com").unwrap();
        prop_assert_eq!(grant.check_addresses("api.example.com", &[address]).is_ok(), classify(address) == AddressClass::Public);
    }
}
