//! Unit tests: every file of Coopr's real catalog validates, each rule names its field, and
//! partial templates resolve as coopr-notes §1.8 describes.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use serde_json::{Value, json};
use weft_model::{EntityKind, FieldError};

use crate::{Catalog, Entity, ResolveError, resolve, resolve_checked, validate};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

fn load_dir(dir: PathBuf) -> Vec<Value> {
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "fixture folder {} is missing ({e}); ../shared must sit beside the checkout",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

fn coopr_catalog(with_plugin_specs: bool) -> Catalog {
    let mut catalog = Catalog::default();
    if with_plugin_specs {
        for (dir, kind) in [
            ("providertypes", EntityKind::Providertypes),
            ("automatortypes", EntityKind::Automatortypes),
        ] {
            for body in load_dir(fixtures().join("coopr-plugin-specs").join(dir)) {
                catalog.insert(validate(kind, &body).unwrap());
            }
        }
    }
    for kind in EntityKind::CATALOG {
        let dir = fixtures().join("coopr-templates").join(kind.as_str());
        if dir.exists() {
            for body in load_dir(dir) {
                catalog.insert(
                    validate(kind, &body)
                        .unwrap_or_else(|e| panic!("{kind} {}: {e}", body["name"])),
                );
            }
        }
    }
    catalog
}

fn entities(catalog: &Catalog) -> Vec<Entity> {
    let mut all: Vec<Entity> = Vec::new();
    all.extend(catalog.providers.values().cloned().map(Entity::Provider));
    all.extend(
        catalog
            .hardwaretypes
            .values()
            .cloned()
            .map(Entity::HardwareType),
    );
    all.extend(catalog.imagetypes.values().cloned().map(Entity::ImageType));
    all.extend(catalog.services.values().cloned().map(Entity::Service));
    all.extend(
        catalog
            .clustertemplates
            .values()
            .cloned()
            .map(Entity::ClusterTemplate),
    );
    all
}

#[test]
fn coopr_catalog_validates_and_its_references_hold() {
    for with_specs in [false, true] {
        let catalog = coopr_catalog(with_specs);
        assert_eq!(
            (
                catalog.providers.len(),
                catalog.hardwaretypes.len(),
                catalog.imagetypes.len(),
                catalog.services.len(),
                catalog.clustertemplates.len()
            ),
            (8, 5, 11, 53, 15)
        );
        for entity in entities(&catalog) {
            catalog
                .check_references(&entity)
                .unwrap_or_else(|e| panic!("{} {}: {e}", entity.kind(), entity.name()));
        }
    }
}

#[test]
fn dangling_soft_references_in_coopr_catalog_are_warnings() {
    let catalog = coopr_catalog(true);
    let template =
        Entity::ClusterTemplate(catalog.clustertemplates["coopr-standalone-docker"].clone());
    let warnings = catalog.check_references(&template).unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.field.starts_with("defaults.services")
                && w.message.contains("coopr-standalone")),
        "{warnings:?}"
    );
    let aws = Entity::Provider(catalog.providers["aws-us-east-1"].clone());
    let warnings = catalog.check_references(&aws).unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.field == "provisioner.aws_root_ebs_size"),
        "{warnings:?}"
    );
}

fn error(kind: EntityKind, body: Value) -> FieldError {
    validate(kind, &body).expect_err("the body should be rejected")
}

#[test]
fn each_local_rule_names_its_field() {
    let cases = [
        (
            EntityKind::Providers,
            json!({"name": "a b", "providertype": "x"}),
            "name",
            "name",
        ),
        (
            EntityKind::Providers,
            json!({"name": "p"}),
            "providertype",
            "required",
        ),
        (
            EntityKind::Providers,
            json!({"name": "p", "providertype": "x", "colour": 1}),
            "colour",
            "known field",
        ),
        (
            EntityKind::Hardwaretypes,
            json!({"name": "h", "providermap": {"p": {"flavor": 3}}}),
            "providermap.p.flavor",
            "type",
        ),
        (
            EntityKind::Services,
            json!({"name": "s", "dependencies": {"install": {"requires": ["s"]}}}),
            "dependencies.install.requires[0]",
            "no self-reference",
        ),
        (
            EntityKind::Services,
            json!({"name": "s", "provisioner": {"actions": {"boil": {"type": "shell"}}}}),
            "provisioner.actions.boil",
            "allowed value",
        ),
        (
            EntityKind::Clustertemplates,
            json!({"name": "t", "constraints": {"size": {"min": 0}}}),
            "constraints.size.min",
            "min >= 1",
        ),
        (
            EntityKind::Clustertemplates,
            json!({"name": "t", "constraints": {"size": {"min": 3, "max": 2}}}),
            "constraints.size.max",
            "max >= min",
        ),
        (
            EntityKind::Clustertemplates,
            json!({"name": "t", "administration": {"leaseduration": {"initial": "2d", "max": "1d"}}}),
            "administration.leaseduration.initial",
            "initial <= max",
        ),
        (
            EntityKind::Clustertemplates,
            json!({"name": "t", "constraints": {"layout": {"cantcoexist": [["a"]]}}}),
            "constraints.layout.cantcoexist[0]",
            "at least two services",
        ),
        (
            EntityKind::Clustertemplates,
            json!({"name": "t", "constraints": {"services": {"a": {"quantities": {"min": 2, "max": 1}}}}}),
            "constraints.services.a.quantities.max",
            "max >= min",
        ),
        (
            EntityKind::Clustertemplates,
            json!({"name": "t", "defaults": {"dnsSuffix": "bad_suffix"}}),
            "defaults.dnsSuffix",
            "dns suffix",
        ),
        (
            EntityKind::Clustertemplates,
            json!({"name": "t", "extends": {"name": "t"}}),
            "extends.name",
            "no self-reference",
        ),
        (
            EntityKind::Providertypes,
            json!({"name": "p", "parameters": {"admin": {"fields": {}, "required": [["key"]]}}}),
            "parameters.admin.required[0][0]",
            "declared field",
        ),
        (
            EntityKind::Automatortypes,
            json!({"name": "a", "resourceTypes": {"r": {"format": "archive", "permissions": "0755"}}}),
            "resourceTypes.r.permissions",
            "file only",
        ),
        (
            EntityKind::Automatortypes,
            json!({"name": "a", "resourceTypes": {"r": {"format": "file", "permissions": "999"}}}),
            "resourceTypes.r.permissions",
            "octal mode",
        ),
    ];
    for (kind, body, field, rule) in cases {
        let err = error(kind, body.clone());
        assert_eq!(
            (err.field.as_str(), err.rule.as_str()),
            (field, rule),
            "{kind} {body}: {err:?}"
        );
    }
    let long = "x".repeat(256);
    assert_eq!(
        error(EntityKind::Imagetypes, json!({"name": long})).field,
        "name"
    );
}

#[test]
fn hard_references_fail_with_the_field() {
    let catalog = coopr_catalog(true);
    let check = |kind, body: Value| {
        let entity = validate(kind, &body).unwrap();
        catalog
            .check_references(&entity)
            .expect_err("dangling hard reference")
    };
    assert_eq!(
        check(
            EntityKind::Clustertemplates,
            json!({"name": "t", "defaults": {"provider": "nope"}})
        )
        .field,
        "defaults.provider"
    );
    assert_eq!(
        check(
            EntityKind::Clustertemplates,
            json!({"name": "t", "constraints": {"layout": {"mustcoexist": [["base", "nope"]]}}})
        )
        .field,
        "constraints.layout.mustcoexist[0][1]"
    );
    assert_eq!(
        check(
            EntityKind::Clustertemplates,
            json!({"name": "t", "includes": [{"name": "nope"}]})
        )
        .field,
        "includes[0].name"
    );
    assert_eq!(
        check(
            EntityKind::Hardwaretypes,
            json!({"name": "h", "providermap": {"nope": {"flavor": "x"}}})
        )
        .field,
        "providermap.nope"
    );
    assert_eq!(
        check(
            EntityKind::Services,
            json!({"name": "s", "dependencies": {"runtime": {"requires": ["nope"]}}})
        )
        .field,
        "dependencies.runtime.requires[0]"
    );
    assert_eq!(check(EntityKind::Services, json!({"name": "s", "provisioner": {"actions": {"install": {"type": "shell", "fields": {"args": "x"}}}}})).field, "provisioner.actions.install.fields");
    // `requires` is satisfied through `provides`
    let ok = validate(
        EntityKind::Services,
        &json!({"name": "s", "dependencies": {"install": {"requires": ["database"]}}}),
    )
    .unwrap();
    assert!(catalog.check_references(&ok).is_ok());
}

fn catalog_with(partials: Value, templates: Value) -> Catalog {
    let mut catalog = coopr_catalog(false);
    for p in partials.as_array().unwrap() {
        catalog.insert(validate(EntityKind::Partialtemplates, p).unwrap());
    }
    for t in templates.as_array().unwrap() {
        catalog.insert(validate(EntityKind::Clustertemplates, t).unwrap());
    }
    catalog
}

fn template(body: Value) -> weft_model::ClusterTemplate {
    match validate(EntityKind::Clustertemplates, &body).unwrap() {
        Entity::ClusterTemplate(t) => t,
        other => panic!("{other:?}"),
    }
}

#[test]
fn resolve_merges_in_coopr_order() {
    let catalog = catalog_with(
        json!([
            {"name": "sensu", "defaults": {"services": ["fail2ban"], "config": {"sensu": {"port": 1}}}, "compatibility": {"imagetypes": ["centos6"]}},
            {"name": "parent-part", "defaults": {"provider": "google", "config": {"a": 1}}}
        ]),
        json!([{
            "name": "parent",
            "includes": [{"name": "parent-part"}],
            "defaults": {"services": ["base"], "config": {"a": 2, "b": 1}, "hardwaretype": "standard-small"},
            "constraints": {"size": {"min": 2}, "layout": {"cantcoexist": [["base", "nginx"]]}},
            "administration": {"leaseduration": {"initial": "1d", "max": "7d", "step": "1d"}}
        }]),
    );
    let child = template(json!({
        "name": "child",
        "description": "mine",
        "extends": {"name": "parent"},
        "includes": [{"name": "sensu"}],
        "defaults": {"services": ["nginx"], "config": {"b": 2}, "provider": "rackspace"},
        "constraints": {"size": {"min": 3, "max": 5}}
    }));
    let resolved = resolve_checked(&child, &catalog).unwrap();
    let names: Vec<_> = resolved
        .defaults
        .services
        .iter()
        .map(|s| s.name())
        .collect();
    assert_eq!(names, ["base", "fail2ban", "nginx"]);
    assert_eq!(resolved.defaults.provider.as_deref(), Some("rackspace"));
    assert_eq!(
        resolved.defaults.hardwaretype.as_deref(),
        Some("standard-small")
    );
    assert_eq!(
        serde_json::Value::Object(resolved.defaults.config.clone()),
        json!({"a": 2, "b": 2, "sensu": {"port": 1}})
    );
    assert_eq!(resolved.constraints.size.min, Some(3));
    assert_eq!(
        resolved.constraints.layout.cantcoexist,
        vec![vec!["base".to_string(), "nginx".to_string()]]
    );
    assert_eq!(resolved.administration.leaseduration.max.0, 7 * 86_400_000);
    assert_eq!(resolved.compatibility.imagetypes, ["centos6"]);
    assert_eq!(
        (
            resolved.description.as_deref(),
            resolved.extends.is_none(),
            resolved.includes.is_empty()
        ),
        (Some("mine"), true, true)
    );
}

#[test]
fn immutable_partial_keys_cannot_be_overridden() {
    let catalog = catalog_with(
        json!([{"name": "locked", "immutable": true, "defaults": {"config": {"security": {"tls": true}}}}]),
        json!([]),
    );
    let overriding = template(json!({
        "name": "t", "includes": [{"name": "locked"}],
        "defaults": {"services": ["base"], "provider": "google", "config": {"security": {"tls": false}}}
    }));
    match resolve(&overriding, &catalog) {
        Err(ResolveError::Invalid(e)) => assert_eq!(
            (e.field.as_str(), e.rule.as_str()),
            ("defaults.config.security", "immutable")
        ),
        other => panic!("{other:?}"),
    }
    let agreeing = template(
        json!({"name": "t", "includes": [{"name": "locked"}], "defaults": {"config": {"other": 1}}}),
    );
    assert!(resolve(&agreeing, &catalog).is_ok());
}

#[test]
fn resolve_reports_missing_sources_cycles_and_incomplete_results() {
    let catalog = catalog_with(
        json!([]),
        json!([{"name": "a", "extends": {"name": "b"}}, {"name": "b", "extends": {"name": "a"}}]),
    );
    let missing = template(json!({"name": "t", "extends": {"name": "gone"}}));
    assert!(matches!(
        resolve(&missing, &catalog),
        Err(ResolveError::Missing {
            kind: EntityKind::Clustertemplates,
            ..
        })
    ));
    let cyclic = catalog.clustertemplates["a"].clone();
    match resolve(&cyclic, &catalog) {
        Err(ResolveError::Invalid(e)) => assert!(e.message.contains("a -> b -> a"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    let empty = template(json!({"name": "t", "defaults": {"provider": "google"}}));
    match resolve_checked(&empty, &catalog) {
        Err(ResolveError::Invalid(e)) => assert_eq!(e.field, "defaults.services"),
        other => panic!("{other:?}"),
    }
}

mod properties {
    use proptest::prelude::*;

    use crate::check_name;

    proptest! {
        #[test]
        fn names_follow_coopr_regex(name in "\\PC{0,300}") {
            let coopr = !name.is_empty() && name.len() < 256
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
            prop_assert_eq!(check_name("name", &name).is_ok(), coopr);
        }
    }
}
