//! What ships inside the `weft` binary for `weft server --bundled`: the `docker` and `hosts`
//! providers and the `shell` automator components (built from `plugins/` by the build script) and the bundled
//! catalog (`catalog/`, Coopr's JSON: the `docker-local` provider, container hardware types,
//! the node image type, redis and web services, and the `redis-replicated` and `web-lb`
//! templates).

use serde_json::Value;
use weft_model::{CatalogBundle, EntityKind};

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The bundled components' bytes.
pub fn components() -> Vec<&'static [u8]> {
    COMPONENTS.iter().map(|(_, bytes)| *bytes).collect()
}

/// A bundled file that is not JSON, or sits in a folder that is no catalog kind.
#[derive(Debug, thiserror::Error)]
#[error("bundled catalog file in {folder}/: {message}")]
pub struct BundleError {
    pub folder: String,
    pub message: String,
}

/// The bundled catalog as one import.
pub fn catalog() -> Result<CatalogBundle, BundleError> {
    let mut bundle = CatalogBundle::default();
    for (folder, text) in CATALOG_FILES {
        let error = |message: String| BundleError {
            folder: folder.to_string(),
            message,
        };
        let kind = EntityKind::CATALOG
            .into_iter()
            .find(|k| k.as_str() == *folder)
            .ok_or_else(|| error("not a catalog kind".into()))?;
        let body: Value = serde_json::from_str(text).map_err(|e| error(e.to_string()))?;
        if let Some(slot) = bundle.list_mut(kind) {
            slot.get_or_insert_with(Vec::new).push(body);
        }
    }
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_both_plugins_and_every_catalog_kind_it_uses() {
        assert_eq!(COMPONENTS.len(), 3);
        assert!(components().iter().all(|c| c.starts_with(b"\0asm")));
        let bundle = catalog().expect("the bundled catalog parses");
        let names = |kind| -> Vec<String> {
            bundle
                .list(kind)
                .map(|l| {
                    l.iter()
                        .map(|b| b["name"].as_str().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(names(EntityKind::Providers), ["docker-local"]);
        assert_eq!(
            names(EntityKind::Clustertemplates),
            ["redis-replicated", "web-lb"]
        );
        assert!(names(EntityKind::Services).contains(&"redis-replica".to_string()));
    }
}
