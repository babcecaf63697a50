//! Where a CLI command finds the server and its token.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use weft_client::Client;

#[derive(Args)]
pub(crate) struct ServerConnection {
    /// The server's base URL.
    #[arg(
        long,
        global = true,
        env = "WEFT_SERVER",
        default_value = "http://127.0.0.1:55054"
    )]
    server: String,
    /// An API token.
    #[arg(long, global = true, env = "WEFT_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A file holding the token, such as `weft-data/superadmin.token`.
    #[arg(long, global = true, env = "WEFT_TOKEN_FILE")]
    token_file: Option<PathBuf>,
}

impl ServerConnection {
    pub(crate) fn client(&self) -> anyhow::Result<Client> {
        let token = match (&self.token, &self.token_file) {
            (Some(token), _) => token.clone(),
            (None, Some(file)) => std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?
                .trim()
                .to_string(),
            (None, None) => {
                bail!("no token: pass --token, --token-file, WEFT_TOKEN or WEFT_TOKEN_FILE")
            }
        };
        Ok(Client::new(&self.server, &token))
    }
}
