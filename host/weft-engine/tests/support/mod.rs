//! A store with a registered no-op provider type, and tenants with a plain catalog whose
//! template makes three tasks per node (CREATE, CONFIRM, BOOTSTRAP), for the engine's tests and
//! its throughput benchmark (which includes this file). Nothing here runs a plugin: the caller
//! takes and finishes tasks itself.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use serde_json::{Map, Value, json};
use weft_engine::{Engine, EngineConfig};
use weft_model::{
    ClusterCreateRequest, EntityKind, ImportMode, PluginGrants, PluginKind, TenantSpec,
};
use weft_store::{NewPlugin, Store};
use weft_testkit::{Backend, TestDb};

pub struct Setup {
    pub db: TestDb,
    pub store: Store,
    pub engine: Engine,
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

/// A fresh database with the superadmin and the global provider type `noop`.
pub async fn setup(backend: Backend) -> Setup {
    let db = TestDb::new(backend).await;
    let store = Store::open(&db.url).await.unwrap();
    store.ensure_superadmin("tests").await.unwrap();
    let superadmin = store.tenant_by_name("superadmin").await.unwrap().id;
    let grants = PluginGrants::default();
    store
        .register_plugin(
            &superadmin,
            &NewPlugin {
                name: "noop",
                kind: PluginKind::Provider,
                digest: "00",
                wit_version: "0.1.0",
                description: "no-op",
                requested: &grants,
                approved: &grants,
                component: b"not run",
                created_by: "tests",
                type_spec: &object(json!({"name": "noop", "parameters": {}})),
            },
        )
        .await
        .unwrap();
    let engine = Engine::new(
        store.clone(),
        weft_vault::Vault::new(&[7u8; 32]).unwrap(),
        superadmin,
        EngineConfig::default(),
    );
    Setup { db, store, engine }
}

/// A tenant with `workers` worker capacity and the template `t` on provider `p`.
pub async fn tenant(store: &Store, name: &str, workers: u32) -> String {
    let tenant = store
        .create_tenant(
            &TenantSpec {
                name: name.into(),
                description: None,
                workers,
                max_clusters: None,
                max_nodes: None,
                inactivity_lease: None,
            },
            false,
        )
        .await
        .unwrap()
        .id;
    let one = |kind, body: Value| {
        (
            kind,
            vec![(body["name"].as_str().unwrap().to_string(), object(body))],
        )
    };
    store
        .import_entities(
            &tenant,
            &[
                one(
                    EntityKind::Providers,
                    json!({"name": "p", "providertype": "noop", "provisioner": {}}),
                ),
                one(
                    EntityKind::Hardwaretypes,
                    json!({"name": "h", "providermap": {"p": {"flavor": "f"}}}),
                ),
                one(
                    EntityKind::Imagetypes,
                    json!({"name": "i", "providermap": {"p": {"image": "i"}}}),
                ),
                one(EntityKind::Services, json!({"name": "base"})),
                one(
                    EntityKind::Clustertemplates,
                    json!({"name": "t",
                       "defaults": {"services": ["base"], "provider": "p", "hardwaretype": "h",
                                    "imagetype": "i", "config": {}},
                       "compatibility": {"services": ["base"]}}),
                ),
            ],
            ImportMode::Replace,
        )
        .await
        .unwrap();
    tenant
}

/// Creates a cluster of `nodes` nodes from template `t`; answers its id.
pub async fn create(engine: &Engine, tenant: &str, name: &str, nodes: u32) -> String {
    let request: ClusterCreateRequest =
        serde_json::from_value(json!({"name": name, "clusterTemplate": "t", "numMachines": nodes}))
            .unwrap();
    engine
        .create_cluster(tenant, "tests", &request)
        .await
        .unwrap()
        .cluster_id
}
