//! A typed HTTP client for Weft's API: the CLI's way in, and `weft worker`'s.
//!
//! Errors keep the server's message (and the field it names) so a command can print it as is.

mod worker;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use weft_model::{CatalogBundle, EntityKind, ImportMode};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the Weft server at {url}: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    /// The server answered with an error status; `message` is its `error` text.
    #[error("{status}: {message}")]
    Api {
        status: StatusCode,
        message: String,
        field: Option<String>,
    },
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

/// A connection to one server with one token.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base_url: &str, token: &str) -> Client {
        Client {
            base: base_url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// Sends a request and decodes a JSON answer.
    pub async fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(url, request).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        url: String,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let response = request
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        if !status.is_success() {
            let parsed: Option<Value> = serde_json::from_str(&text).ok();
            let message = parsed
                .as_ref()
                .and_then(|v| v["error"].as_str())
                .map(str::to_string)
                .unwrap_or(text);
            let field = parsed
                .as_ref()
                .and_then(|v| v["field"].as_str())
                .map(str::to_string);
            return Err(ClientError::Api {
                status,
                message,
                field,
            });
        }
        let text = if text.trim().is_empty() {
            "null"
        } else {
            &text
        };
        serde_json::from_str(text).map_err(|e| ClientError::Decode(format!("{e}: {text}")))
    }

    /// `POST /v2/import`, replacing the listed types (`replace`) or adding versions (`merge`).
    pub async fn import(
        &self,
        bundle: &CatalogBundle,
        mode: ImportMode,
    ) -> Result<Value, ClientError> {
        let body = serde_json::to_value(bundle).map_err(|e| ClientError::Decode(e.to_string()))?;
        self.request(
            Method::POST,
            &format!("/v2/import?mode={}", mode.as_str()),
            Some(&body),
        )
        .await
    }

    /// `GET /v2/export`.
    pub async fn export(&self) -> Result<CatalogBundle, ClientError> {
        self.request(Method::GET, "/v2/export", None).await
    }

    /// `POST /v2/plugins`: uploads a component; `approve` approves the grants it requests.
    pub async fn register_plugin(
        &self,
        component: Vec<u8>,
        approve: bool,
    ) -> Result<Value, ClientError> {
        let approve = if approve { "requested" } else { "none" };
        let url = format!("{}/v2/plugins?approve={approve}", self.base);
        let request = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .header("content-type", "application/wasm")
            .body(component);
        self.send(url, request).await
    }

    /// `PUT /v2/plugins/{providertypes|automatortypes}/{name}` (superadmin).
    pub async fn put_plugin_type(
        &self,
        kind: EntityKind,
        name: &str,
        spec: &Value,
    ) -> Result<Value, ClientError> {
        self.request(
            Method::PUT,
            &format!("/v2/plugins/{kind}/{name}"),
            Some(spec),
        )
        .await
    }
}
