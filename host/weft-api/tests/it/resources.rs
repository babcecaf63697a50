//! Plugin resources (Coopr's §1.15 state machine and paths) and machine pools: what an admin
//! writes, what a user and another tenant may see, and that a pool's key never comes back.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use weft_testkit::{Backend, both_backends};

use crate::harness::{SUPERADMIN_TOKEN, TestApp, assert_invalid};

both_backends!(resources_follow_coopr_states_per_tenant);
both_backends!(pools_keep_their_key_and_their_tenant);

const SCRIPTS: &str = "/v2/plugins/automatortypes/shell/scripts";

/// Coopr's own `shell` type spec, written as a global type by the superadmin.
async fn shell_type(app: &TestApp) {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/coopr-plugin-specs/automatortypes/shell.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let written = app
        .post("/v2/plugins/automatortypes", SUPERADMIN_TOKEN, spec)
        .await;
    assert_eq!(written.status, StatusCode::OK, "{written:?}");
}

async fn upload(app: &TestApp, token: &str, name: &str, bytes: &str) -> crate::harness::Answer {
    app.upload(
        &format!("{SCRIPTS}/{name}"),
        token,
        bytes.as_bytes().to_vec(),
    )
    .await
}

/// name -> [(version, status)] as the list route answers.
fn states(answer: &crate::harness::Answer, name: &str) -> Vec<(i64, String)> {
    answer.body[name]
        .as_array()
        .map(|versions| {
            versions
                .iter()
                .map(|m| {
                    (
                        m["version"].as_i64().unwrap(),
                        m["status"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn resources_follow_coopr_states_per_tenant(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    shell_type(&app).await;

    let first = upload(&app, &acme.admin, "setup.sh", "echo one").await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(
        first.body,
        json!({"name": "setup.sh", "version": 1, "status": "inactive"})
    );
    assert_eq!(
        upload(&app, &acme.admin, "setup.sh", "echo two").await.body["version"],
        2
    );
    let list = app.get(SCRIPTS, &acme.admin).await;
    assert_eq!(
        states(&list, "setup.sh"),
        [(1, "inactive".into()), (2, "inactive".into())]
    );

    let stage = |v: i64| format!("{SCRIPTS}/setup.sh/versions/{v}/stage");
    let recall = |v: i64| format!("{SCRIPTS}/setup.sh/versions/{v}/recall");
    let sync = || app.call(Method::POST, "/v2/plugins/sync", Some(&acme.admin), None);

    // stage 1 and sync: 1 is active
    assert_eq!(
        app.call(Method::POST, &stage(1), Some(&acme.admin), None)
            .await
            .body[0]["status"],
        "staged"
    );
    assert_eq!(sync().await.body["changed"], 1);
    // stage 2: 1 is recalled (still live), 2 staged (not yet)
    app.call(Method::POST, &stage(2), Some(&acme.admin), None)
        .await;
    let live = app
        .get(&format!("{SCRIPTS}?status=active,recalled"), &acme.admin)
        .await;
    assert_eq!(states(&live, "setup.sh"), [(1, "recalled".into())]);
    // staging a recalled version makes it active again and unstages the other
    app.call(Method::POST, &stage(1), Some(&acme.admin), None)
        .await;
    let list = app.get(SCRIPTS, &acme.admin).await;
    assert_eq!(
        states(&list, "setup.sh"),
        [(1, "active".into()), (2, "inactive".into())]
    );
    // stage 2 again and sync: 2 active, 1 inactive
    app.call(Method::POST, &stage(2), Some(&acme.admin), None)
        .await;
    assert_eq!(sync().await.body["changed"], 2);
    let list = app.get(&format!("{SCRIPTS}/setup.sh"), &acme.admin).await;
    assert_eq!(list.body[0]["status"], "inactive", "{list:?}");
    assert_eq!(list.body[1]["status"], "active", "{list:?}");
    // recall 2 and sync: nothing live
    app.call(Method::POST, &recall(2), Some(&acme.admin), None)
        .await;
    sync().await;
    let live = app
        .get(&format!("{SCRIPTS}?status=active"), &acme.admin)
        .await;
    assert_eq!(live.body, json!({}), "{live:?}");

    // the plugin type's own versions still answer on the shared path shape
    let spec = app
        .get("/v2/plugins/automatortypes/shell/1", &acme.user)
        .await;
    assert_eq!(spec.status, StatusCode::OK, "{spec:?}");
    assert_eq!(spec.body["name"], "shell");

    // errors name what is wrong
    let bad = app
        .get(&format!("{SCRIPTS}?status=live"), &acme.admin)
        .await;
    assert_invalid(&bad, "status");
    let unknown = app
        .get("/v2/plugins/automatortypes/shell/cookbooks", &acme.admin)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(
        unknown.body["error"]
            .as_str()
            .unwrap()
            .contains("(it has: scripts, archives)"),
        "{unknown:?}"
    );
    let empty = upload(&app, &acme.admin, "empty.sh", "").await;
    assert_invalid(&empty, "body");
    let bad_name = upload(&app, &acme.admin, "a%20b", "x").await;
    assert_invalid(&bad_name, "name");
    let dots = upload(&app, &acme.admin, "...", "x").await;
    assert_invalid(&dots, "name");
    let bad_version = app
        .call(
            Method::POST,
            &format!("{SCRIPTS}/setup.sh/versions/x/stage"),
            Some(&acme.admin),
            None,
        )
        .await;
    assert_invalid(&bad_version, "version");
    let missing = app
        .call(Method::POST, &stage(9), Some(&acme.admin), None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // an archive must unpack to one folder named like the resource
    let archive = |top: &str| {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("{top}/run.sh"), &b"ls\n"[..])
            .unwrap();
        builder.into_inner().unwrap().finish().unwrap()
    };
    let archives = "/v2/plugins/automatortypes/shell/archives";
    let good = app
        .upload(
            &format!("{archives}/tools.tar.gz"),
            &acme.admin,
            archive("tools"),
        )
        .await;
    assert_eq!(good.status, StatusCode::OK, "{good:?}");
    let wrong = app
        .upload(
            &format!("{archives}/other.tar.gz"),
            &acme.admin,
            archive("tools"),
        )
        .await;
    assert_invalid(&wrong, "body");
    assert!(
        wrong.body["error"].as_str().unwrap().contains("'other/'"),
        "{wrong:?}"
    );
    let junk = app
        .upload(&format!("{archives}/junk"), &acme.admin, b"junk".to_vec())
        .await;
    assert_invalid(&junk, "body");
    // scripts are files: any bytes will do
    assert_eq!(
        upload(&app, &acme.admin, "junk.sh", "junk").await.status,
        StatusCode::OK
    );

    // a plain user may not manage resources; another tenant sees none of acme's
    assert_eq!(
        upload(&app, &acme.user, "x.sh", "x").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(SCRIPTS, &acme.user).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get(SCRIPTS, &globex.admin).await.body, json!({}));
    assert_eq!(
        app.call(Method::POST, &stage(1), Some(&globex.admin), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("{SCRIPTS}/setup.sh"), &globex.admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // delete one version, then the rest
    let gone = app
        .delete(&format!("{SCRIPTS}/setup.sh/versions/1"), &acme.admin)
        .await;
    assert_eq!(gone.status, StatusCode::OK, "{gone:?}");
    let again = app
        .delete(&format!("{SCRIPTS}/setup.sh/versions/1"), &acme.admin)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    app.delete(&format!("{SCRIPTS}/setup.sh"), &acme.admin)
        .await;
    assert_eq!(
        app.get(&format!("{SCRIPTS}/setup.sh"), &acme.admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

fn machine(name: &str, port: u16) -> Value {
    let host_key = weft_ssh::KeyPair::generate().public_openssh();
    json!({"name": name, "address": format!("127.0.0.1:{port}"), "hostKey": host_key})
}

async fn pools_keep_their_key_and_their_tenant(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let key = weft_ssh::KeyPair::generate();
    let private = key.private_openssh().unwrap();
    let pool = json!({
        "name": "lab", "privateKey": private, "cleanup": "true",
        "machines": [machine("m1", 2201), machine("m2", 2202)]
    });

    let made = app.post("/v2/pools", &acme.admin, pool.clone()).await;
    assert_eq!(made.status, StatusCode::OK, "{made:?}");
    assert_eq!(made.body["user"], "root");
    assert_eq!(made.body["publicKey"], key.public_openssh());
    assert!(!made.body.to_string().contains("PRIVATE"), "{made:?}");
    let listed = app.get("/v2/pools", &acme.admin).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert!(!listed.body.to_string().contains("PRIVATE"));
    assert_eq!(
        app.post("/v2/pools", &acme.admin, pool.clone())
            .await
            .status,
        StatusCode::CONFLICT
    );

    // an update without the key keeps it
    let mut changed = pool.clone();
    changed.as_object_mut().unwrap().remove("privateKey");
    changed["machines"] = json!([machine("m1", 2201)]);
    let kept = app.put("/v2/pools/lab", &acme.admin, changed.clone()).await;
    assert_eq!(kept.status, StatusCode::OK, "{kept:?}");
    assert_eq!(kept.body["publicKey"], key.public_openssh());
    assert_eq!(kept.body["machines"].as_array().unwrap().len(), 1);

    // bad input names the field, and nothing is written
    let mut fresh = changed.clone();
    fresh["name"] = json!("new");
    assert_invalid(
        &app.put("/v2/pools/new", &acme.admin, fresh).await,
        "privateKey",
    );
    let mut bad = pool.clone();
    bad["name"] = json!("bad");
    bad["machines"][1]["address"] = json!("127.0.0.1:notaport");
    assert_invalid(
        &app.post("/v2/pools", &acme.admin, bad.clone()).await,
        "machines[1].address",
    );
    bad["machines"][1] = machine("m1", 2203);
    assert_invalid(
        &app.post("/v2/pools", &acme.admin, bad.clone()).await,
        "machines[1].name",
    );
    bad["machines"] = json!([]);
    assert_invalid(
        &app.post("/v2/pools", &acme.admin, bad.clone()).await,
        "machines",
    );
    bad["machines"] = json!([machine("m1", 2201)]);
    bad["privateKey"] = json!("not a key");
    assert_invalid(&app.post("/v2/pools", &acme.admin, bad).await, "privateKey");
    assert_eq!(
        app.get("/v2/pools/bad", &acme.admin).await.status,
        StatusCode::NOT_FOUND
    );

    // users may not see pools; another tenant does not find them
    assert_eq!(
        app.get("/v2/pools", &acme.user).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/v2/pools/lab", &globex.admin).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/v2/pools", &globex.admin).await.body, json!([]));
    assert_eq!(
        app.delete("/v2/pools/lab", &globex.admin).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete("/v2/pools/lab", &acme.admin).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v2/pools/lab", &acme.admin).await.status,
        StatusCode::NOT_FOUND
    );
}
