//! Where a CLI command finds the server and its token: flags first, then the environment, then
//! the config file (`$WEFT_CONFIG`, else `$XDG_CONFIG_HOME/weft/config.json`, else
//! `~/.config/weft/config.json`), then the default address.
//!
//! The config file is JSON: `{"server": "http://...", "token": "..."}` or `"tokenFile": "..."`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;
use weft_client::Client;

const DEFAULT_SERVER: &str = "http://127.0.0.1:55054";

#[derive(Args)]
pub(crate) struct ServerConnection {
    /// The server's base URL [default: the config file's, else http://127.0.0.1:55054].
    #[arg(long, global = true, env = "WEFT_SERVER")]
    server: Option<String>,
    /// An API token.
    #[arg(long, global = true, env = "WEFT_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A file holding the token, such as `weft-data/superadmin.token`.
    #[arg(long, global = true, env = "WEFT_TOKEN_FILE")]
    token_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigFile {
    server: Option<String>,
    token: Option<String>,
    token_file: Option<PathBuf>,
}

fn config_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WEFT_CONFIG") {
        return Some(PathBuf::from(path));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("weft/config.json"))
}

fn read_config() -> anyhow::Result<ConfigFile> {
    let Some(path) = config_path() else {
        return Ok(ConfigFile::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("the config file {} is not valid", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn read_token_file(file: &PathBuf) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .trim()
        .to_string())
}

impl ServerConnection {
    pub(crate) fn client(&self) -> anyhow::Result<Client> {
        let config = read_config()?;
        let token = match (&self.token, &self.token_file) {
            (Some(token), _) => token.clone(),
            (None, Some(file)) => read_token_file(file)?,
            (None, None) => match (config.token, config.token_file) {
                (Some(token), _) => token,
                (None, Some(file)) => read_token_file(&file)?,
                (None, None) => bail!(
                    "no token: pass --token or --token-file, set WEFT_TOKEN or WEFT_TOKEN_FILE, \
                     or write it in the config file ({})",
                    config_path().map_or("none".into(), |p| p.display().to_string())
                ),
            },
        };
        let server = self
            .server
            .clone()
            .or(config.server)
            .unwrap_or_else(|| DEFAULT_SERVER.to_string());
        Ok(Client::new(&server, &token))
    }
}
