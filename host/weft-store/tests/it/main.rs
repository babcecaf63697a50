//! The store's conformance suite: every test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

use serde_json::{Map, Value, json};
use weft_model::{EntityKind, ImportMode, Role, SUPERADMIN_TENANT, TenantSpec};
use weft_store::{Store, StoreError};
use weft_testkit::{Backend, TestDb, both_backends};

mod queue;

pub(crate) async fn open(backend: Backend) -> (Store, TestDb) {
    let db = TestDb::new(backend).await;
    let store = Store::open(&db.url).await.unwrap();
    (store, db)
}

fn body(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn spec(name: &str) -> TenantSpec {
    TenantSpec {
        name: name.into(),
        description: None,
        workers: 0,
        max_clusters: Some(5),
        max_nodes: None,
        inactivity_lease: None,
    }
}

both_backends!(
    migrations_rerun_cleanly,
    superadmin_bootstraps_once,
    tenants_round_trip,
    users_and_tokens,
    entity_versions,
    entities_are_tenant_scoped,
    bootstrap_copies_the_superadmin_catalog,
    import_is_all_or_nothing,
    concurrent_puts_get_distinct_versions,
);

async fn migrations_rerun_cleanly(backend: Backend) {
    let db = TestDb::new(backend).await;
    Store::open(&db.url).await.unwrap().close().await;
    let again = Store::open(&db.url).await.unwrap();
    again.ping().await.unwrap();
    assert_eq!(
        again.backend_name(),
        match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    );
}

async fn superadmin_bootstraps_once(backend: Backend) {
    let (store, _db) = open(backend).await;
    assert!(store.ensure_superadmin("digest-1").await.unwrap());
    assert!(
        !store.ensure_superadmin("digest-2").await.unwrap(),
        "a second start keeps the first token"
    );
    let caller = store
        .caller_by_token_digest("digest-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            caller.tenant_name.as_str(),
            caller.user.as_str(),
            caller.role
        ),
        (SUPERADMIN_TENANT, "admin", Role::Admin)
    );
    assert!(
        store
            .caller_by_token_digest("digest-2")
            .await
            .unwrap()
            .is_none()
    );
}

async fn tenants_round_trip(backend: Backend) {
    let (store, _db) = open(backend).await;
    store.ensure_superadmin("d").await.unwrap();
    let created = store.create_tenant(&spec("acme"), false).await.unwrap();
    assert_eq!(created.spec, spec("acme"));
    assert!(matches!(
        store.create_tenant(&spec("acme"), false).await,
        Err(StoreError::Conflict(_))
    ));
    let mut changed = spec("acme");
    changed.workers = 3;
    changed.max_clusters = None;
    changed.description = Some("widgets".into());
    assert_eq!(store.update_tenant(&changed).await.unwrap().spec, changed);
    let names: Vec<_> = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.spec.name)
        .collect();
    assert_eq!(names, ["acme", SUPERADMIN_TENANT]);
    assert!(
        matches!(
            store.delete_tenant("acme").await,
            Err(StoreError::Conflict(_))
        ),
        "workers assigned"
    );
    changed.workers = 0;
    store.update_tenant(&changed).await.unwrap();
    store.delete_tenant("acme").await.unwrap();
    assert!(matches!(
        store.tenant_by_name("acme").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delete_tenant(SUPERADMIN_TENANT).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.update_tenant(&spec("ghost")).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn users_and_tokens(backend: Backend) {
    let (store, _db) = open(backend).await;
    let acme = store.create_tenant(&spec("acme"), false).await.unwrap();
    store
        .create_user(&acme.id, "ann", Role::Admin, "h-ann")
        .await
        .unwrap();
    store
        .create_user(&acme.id, "bob", Role::User, "h-bob")
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_user(&acme.id, "bob", Role::User, "h-other")
            .await,
        Err(StoreError::Conflict(_))
    ));
    let users: Vec<_> = store
        .list_users(&acme.id)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.name, u.role))
        .collect();
    assert_eq!(
        users,
        [
            ("ann".to_string(), Role::Admin),
            ("bob".to_string(), Role::User)
        ]
    );
    assert_eq!(
        store
            .caller_by_token_digest("h-bob")
            .await
            .unwrap()
            .unwrap()
            .tenant_name,
        "acme"
    );
    store.delete_user(&acme.id, "bob").await.unwrap();
    assert!(
        store
            .caller_by_token_digest("h-bob")
            .await
            .unwrap()
            .is_none(),
        "deleting a user revokes its token"
    );
    assert!(matches!(
        store.delete_user(&acme.id, "bob").await,
        Err(StoreError::NotFound(_))
    ));
    store.delete_tenant("acme").await.unwrap();
    assert!(
        store
            .caller_by_token_digest("h-ann")
            .await
            .unwrap()
            .is_none(),
        "deleting a tenant revokes its users"
    );
}

async fn entity_versions(backend: Backend) {
    let (store, _db) = open(backend).await;
    let t = store.create_tenant(&spec("acme"), false).await.unwrap().id;
    let kind = EntityKind::Hardwaretypes;
    let v1 = store
        .create_entity(
            &t,
            kind,
            "small",
            &body(json!({"name": "small", "version": 99, "description": "one"})),
        )
        .await
        .unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(
        v1.to_json(),
        json!({"name": "small", "description": "one", "version": 1})
    );
    assert!(matches!(
        store
            .create_entity(&t, kind, "small", &body(json!({"name": "small"})))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let v2 = store
        .put_entity(
            &t,
            kind,
            "small",
            &body(json!({"name": "small", "description": "two"})),
        )
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    store
        .put_entity(&t, kind, "large", &body(json!({"name": "large"})))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_entity(&t, kind, "small", None)
            .await
            .unwrap()
            .body["description"],
        "two"
    );
    assert_eq!(
        store
            .get_entity(&t, kind, "small", Some(1))
            .await
            .unwrap()
            .body["description"],
        "one"
    );
    assert!(matches!(
        store.get_entity(&t, kind, "small", Some(3)).await,
        Err(StoreError::NotFound(_))
    ));
    let listed: Vec<_> = store
        .list_entities(&t, kind)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.version))
        .collect();
    assert_eq!(listed, [("large".to_string(), 1), ("small".to_string(), 2)]);
    store
        .delete_entity(&t, kind, "small", Some(2))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_entity(&t, kind, "small", None)
            .await
            .unwrap()
            .version,
        1,
        "deleting the latest uncovers the previous"
    );
    store.delete_entity(&t, kind, "small", None).await.unwrap();
    assert!(matches!(
        store.get_entity(&t, kind, "small", None).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delete_entity(&t, kind, "small", None).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn entities_are_tenant_scoped(backend: Backend) {
    let (store, _db) = open(backend).await;
    let a = store.create_tenant(&spec("a"), false).await.unwrap().id;
    let b = store.create_tenant(&spec("b"), false).await.unwrap().id;
    store
        .create_entity(&a, EntityKind::Services, "s", &body(json!({"name": "s"})))
        .await
        .unwrap();
    assert!(matches!(
        store.get_entity(&b, EntityKind::Services, "s", None).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .list_entities(&b, EntityKind::Services)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store
            .delete_entity(&b, EntityKind::Services, "s", None)
            .await,
        Err(StoreError::NotFound(_))
    ));
    store
        .create_entity(&b, EntityKind::Services, "s", &body(json!({"name": "s"})))
        .await
        .unwrap();
}

async fn bootstrap_copies_the_superadmin_catalog(backend: Backend) {
    let (store, _db) = open(backend).await;
    store.ensure_superadmin("d").await.unwrap();
    let sa = store.tenant_by_name(SUPERADMIN_TENANT).await.unwrap().id;
    store
        .put_entity(
            &sa,
            EntityKind::Services,
            "base",
            &body(json!({"name": "base", "description": "old"})),
        )
        .await
        .unwrap();
    store
        .put_entity(
            &sa,
            EntityKind::Services,
            "base",
            &body(json!({"name": "base", "description": "new"})),
        )
        .await
        .unwrap();
    store
        .put_entity(
            &sa,
            EntityKind::Providertypes,
            "aws",
            &body(json!({"name": "aws"})),
        )
        .await
        .unwrap();
    let plain = store.create_tenant(&spec("plain"), false).await.unwrap().id;
    assert!(
        store
            .list_entities(&plain, EntityKind::Services)
            .await
            .unwrap()
            .is_empty()
    );
    let booted = store.create_tenant(&spec("booted"), true).await.unwrap().id;
    let services = store
        .list_entities(&booted, EntityKind::Services)
        .await
        .unwrap();
    assert_eq!(
        (
            services.len(),
            services[0].version,
            services[0].body["description"].clone()
        ),
        (1, 1, json!("new"))
    );
    assert!(
        store
            .list_entities(&booted, EntityKind::Providertypes)
            .await
            .unwrap()
            .is_empty(),
        "plugin types stay global"
    );
}

async fn import_is_all_or_nothing(backend: Backend) {
    let (store, _db) = open(backend).await;
    let t = store.create_tenant(&spec("acme"), false).await.unwrap().id;
    store
        .put_entity(
            &t,
            EntityKind::Services,
            "old",
            &body(json!({"name": "old"})),
        )
        .await
        .unwrap();
    store
        .put_entity(
            &t,
            EntityKind::Providers,
            "keep",
            &body(json!({"name": "keep"})),
        )
        .await
        .unwrap();
    let lists = vec![(
        EntityKind::Services,
        vec![("new".to_string(), body(json!({"name": "new"})))],
    )];
    store
        .import_entities(&t, &lists, ImportMode::Replace)
        .await
        .unwrap();
    let names: Vec<_> = store
        .list_entities(&t, EntityKind::Services)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["new"]);
    assert_eq!(
        store
            .list_entities(&t, EntityKind::Providers)
            .await
            .unwrap()
            .len(),
        1,
        "unlisted kinds are untouched"
    );
    store
        .import_entities(&t, &lists, ImportMode::Merge)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_entity(&t, EntityKind::Services, "new", None)
            .await
            .unwrap()
            .version,
        2
    );
    // a failure inside the transaction (the tenant is gone: a foreign-key violation) is an error
    store.delete_tenant("acme").await.unwrap();
    assert!(
        store
            .import_entities(&t, &lists, ImportMode::Replace)
            .await
            .is_err()
    );
}

async fn concurrent_puts_get_distinct_versions(backend: Backend) {
    let (store, _db) = open(backend).await;
    let t = store.create_tenant(&spec("acme"), false).await.unwrap().id;
    let writes = (0..8).map(|i| {
        let store = store.clone();
        let t = t.clone();
        tokio::spawn(async move {
            store
                .put_entity(
                    &t,
                    EntityKind::Imagetypes,
                    "img",
                    &body(json!({"name": "img", "description": i.to_string()})),
                )
                .await
        })
    });
    let mut versions = Vec::new();
    for write in writes {
        versions.push(write.await.unwrap().unwrap().version);
    }
    versions.sort();
    assert_eq!(versions, (1..=8).collect::<Vec<i64>>());
}
