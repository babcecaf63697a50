//! `weft catalog import|export`: move a catalog between a folder laid out like Coopr's
//! `coopr-templates` (one JSON file per entity under `providers/`, `hardwaretypes/`, ...) and a
//! running server. Folders `providertypes/` and `automatortypes/` (Coopr's plugin specs) are
//! registered as global plugin types first, which needs a superadmin token.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::Value;
use weft_client::Client;
use weft_model::{CatalogBundle, EntityKind, ImportMode};

#[derive(Args)]
pub(crate) struct CatalogArgs {
    #[command(subcommand)]
    command: CatalogCommand,
    /// An admin's token imports; a superadmin's also registers plugin types.
    #[command(flatten)]
    connection: crate::connect::ServerConnection,
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Import every entity found in DIR, all or nothing.
    Import {
        dir: PathBuf,
        /// Coopr's import: replace every entity of the types found (default: add new versions).
        #[arg(long)]
        replace: bool,
    },
    /// Write the tenant's catalog into DIR, one file per entity.
    Export { dir: PathBuf },
}

pub(crate) async fn run(args: CatalogArgs) -> anyhow::Result<()> {
    let client = args.connection.client()?;
    match args.command {
        CatalogCommand::Import { dir, replace } => {
            import(
                &client,
                &dir,
                if replace {
                    ImportMode::Replace
                } else {
                    ImportMode::Merge
                },
            )
            .await
        }
        CatalogCommand::Export { dir } => export(&client, &dir).await,
    }
}

async fn import(client: &Client, dir: &Path, mode: ImportMode) -> anyhow::Result<()> {
    let mut found_any = false;
    for kind in [EntityKind::Providertypes, EntityKind::Automatortypes] {
        for (name, spec) in read_folder(&dir.join(kind.as_str()))?.unwrap_or_default() {
            found_any = true;
            client
                .put_plugin_type(kind, &name, &spec)
                .await
                .with_context(|| format!("cannot register {} '{name}'", kind.noun()))?;
            eprintln!("registered {} {name}", kind.noun());
        }
    }
    let mut bundle = CatalogBundle::default();
    for kind in EntityKind::CATALOG {
        if let Some(entities) = read_folder(&dir.join(kind.as_str()))? {
            found_any = true;
            if let Some(slot) = bundle.list_mut(kind) {
                *slot = Some(entities.into_iter().map(|(_, body)| body).collect());
            }
        }
    }
    if !found_any {
        bail!(
            "{} holds none of the folders providers/, hardwaretypes/, imagetypes/, services/, clustertemplates/, partialtemplates/, providertypes/, automatortypes/",
            dir.display()
        );
    }
    if bundle == CatalogBundle::default() {
        return Ok(());
    }
    let report = client
        .import(&bundle, mode)
        .await
        .context("import failed; nothing was written")?;
    if let Some(imported) = report["imported"].as_object() {
        let counts: Vec<String> = imported
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        eprintln!("imported {}", counts.join(", "));
    }
    for warning in report["warnings"].as_array().into_iter().flatten() {
        eprintln!(
            "warning: {}: {}",
            warning["field"].as_str().unwrap_or_default(),
            warning["message"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}

/// The JSON files of a folder, sorted by file name, as (entity name, body); `None` if absent.
fn read_folder(dir: &Path) -> anyhow::Result<Option<Vec<(String, Value)>>> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    let mut entities = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let body: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        let name = match body["name"].as_str() {
            Some(name) => name.to_string(),
            None => bail!("{} has no \"name\"", path.display()),
        };
        entities.push((name, body));
    }
    Ok(Some(entities))
}

async fn export(client: &Client, dir: &Path) -> anyhow::Result<()> {
    let bundle = client.export().await.context("export failed")?;
    let mut written = 0;
    for kind in EntityKind::CATALOG {
        let folder = dir.join(kind.as_str());
        for mut entity in bundle.list(kind).cloned().unwrap_or_default() {
            if let Some(object) = entity.as_object_mut() {
                object.remove("version");
            }
            let name = entity["name"].as_str().unwrap_or_default().to_string();
            std::fs::create_dir_all(&folder)
                .with_context(|| format!("cannot create {}", folder.display()))?;
            let path = folder.join(format!("{name}.json"));
            std::fs::write(&path, serde_json::to_string_pretty(&entity)? + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
            written += 1;
        }
    }
    eprintln!("exported {written} entities to {}", dir.display());
    Ok(())
}
