//! Inspecting real components, and the rules for approving grants.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use weft_grants::within_request;
use weft_model::{InspectError, PluginGrants, PluginKind};
use weft_registry::Inspector;
use weft_runtime::{Runtime, RuntimeConfig};

fn inspector(cache: &std::path::Path) -> Inspector {
    Inspector::new(Arc::new(
        Runtime::new(RuntimeConfig {
            cache_dir: cache.to_path_buf(),
            slots: 4,
            max_memory_bytes: 64 << 20,
            epoch_tick: Duration::from_millis(10),
            max_component_bytes: 32 << 20,
            quarantine_after: 5,
        })
        .unwrap(),
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_describes_itself_as_a_coopr_type_with_its_requests() {
    let cache = tempfile::tempdir().unwrap();
    let inspector = inspector(cache.path());
    let inspected = inspector
        .inspect(weft_test_plugins::component("test-capabilities"))
        .await
        .unwrap();
    assert_eq!(inspected.name, "test-capabilities");
    assert_eq!(inspected.kind, PluginKind::Automator);
    assert_eq!(inspected.wit_version, "0.1.0");
    assert_eq!(inspected.digest.len(), 64);
    assert_eq!(
        inspected.requested,
        PluginGrants {
            http: vec!["https://api.example.com".into()],
            unix_sockets: vec!["/var/run/docker.sock".into()],
            ssh: true,
        }
    );
    let provider = inspector
        .inspect(weft_test_plugins::component("test-provider"))
        .await
        .unwrap();
    assert_eq!(provider.kind, PluginKind::Provider);
    assert_eq!(provider.spec.name, "test-provider");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_is_not_a_plugin_is_refused_with_the_rule() {
    let cache = tempfile::tempdir().unwrap();
    let inspector = inspector(cache.path());
    // an empty component is valid wasm, but no plugin
    match inspector.inspect(b"\0asm\x0d\0\x01\0".to_vec()).await {
        Err(InspectError::Refused(message)) => {
            assert!(message.contains("exports neither"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    match inspector.inspect(b"\0asm garbage".to_vec()).await {
        Err(InspectError::Refused(message)) => assert!(message.contains("not valid"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_admin_may_narrow_a_request_but_not_widen_it() {
    let requested = PluginGrants {
        http: vec!["https://*.example.com".into()],
        unix_sockets: vec!["/var/run/docker.sock".into()],
        ssh: false,
    };
    let narrower = PluginGrants {
        http: vec!["https://api.example.com".into()],
        ..PluginGrants::default()
    };
    assert_eq!(within_request(&narrower, &requested), Ok(()));
    let wider = PluginGrants {
        http: vec!["https://api.example.org".into()],
        ..PluginGrants::default()
    };
    assert_eq!(within_request(&wider, &requested).unwrap_err().0, "http[0]");
    let ssh = PluginGrants {
        ssh: true,
        ..PluginGrants::default()
    };
    assert_eq!(within_request(&ssh, &requested).unwrap_err().0, "ssh");
    let socket = PluginGrants {
        unix_sockets: vec!["/run/other.sock".into()],
        ..PluginGrants::default()
    };
    assert_eq!(
        within_request(&socket, &requested).unwrap_err().0,
        "unixSockets[0]"
    );
    let malformed = PluginGrants {
        http: vec!["ftp://x".into()],
        ..PluginGrants::default()
    };
    assert_eq!(
        within_request(&malformed, &requested).unwrap_err().0,
        "http[0]"
    );
}
