//! Outgoing HTTP for plugins (`wasi:http/outgoing-handler`), through [`Egress`], the
//! `WasiHttpHooks` of one task. Every request is checked before a byte leaves:
//!
//! 1. the URL's scheme, host and port against the task's grants;
//! 2. the host resolves the name itself and refuses loopback, private, link-local,
//!    cloud-metadata and reserved addresses unless the grant names that address;
//! 3. it connects to the very address it checked (no second lookup to rebind);
//! 4. the plugin cannot set `authorization` (a forbidden header); the host sets it from the
//!    provider's credential for that endpoint.
//!
//! A Unix socket grant (the Docker Engine API) is used by sending to `http://unix-socket` with
//! the socket's path in the `x-weft-unix-socket` header.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use http_body_util::BodyExt;
use tokio::net::{TcpStream, UnixStream};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{
    DEFAULT_FORBIDDEN_HEADERS, Error, ForbiddenHeaderFilter, RequestOptions, WasiBody,
    WasiHttpHooks,
};

use super::Events;
use crate::capabilities::Credential;

/// The authority a plugin sends to for a granted Unix socket.
pub const UNIX_SOCKET_HOST: &str = "unix-socket";
/// The header naming the socket's path.
pub const UNIX_SOCKET_HEADER: &str = "x-weft-unix-socket";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(60);

/// What one task may reach over HTTP.
pub(crate) struct EgressPolicy {
    pub(crate) grants: weft_grants::Grants,
    pub(crate) credentials: Vec<Credential>,
}

/// The HTTP hooks of one task.
pub(crate) struct Egress {
    pub(crate) policy: Arc<EgressPolicy>,
    pub(crate) events: Arc<Mutex<Events>>,
}

type Sent = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), Error>> + Send>,
    ),
    Error,
>;

impl WasiHttpHooks for Egress {
    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        let events = self.events.clone();
        Arc::new(move |name: &HeaderName| {
            if *name == AUTHORIZATION {
                Events::deny(
                    &events,
                    "a plugin may not set the authorization header: the host adds the provider's credential".into(),
                );
                return true;
            }
            DEFAULT_FORBIDDEN_HEADERS.contains(name)
        })
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = Sent> + Send> {
        let policy = self.policy.clone();
        let events = self.events.clone();
        Box::new(async move { send(&policy, &events, request, options).await })
    }
}

fn refuse(events: &Mutex<Events>, reason: String) -> Error {
    Events::deny(events, reason);
    Error::HttpRequestDenied
}

async fn send(
    policy: &EgressPolicy,
    events: &Mutex<Events>,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Sent {
    let uri = request.uri().clone();
    let scheme = uri.scheme_str().unwrap_or("https").to_string();
    let host = uri.host().ok_or(Error::HttpRequestUriInvalid)?.to_string();
    let port = uri.port_u16();
    let shown = format!(
        "{} {scheme}://{}{}",
        request.method(),
        uri.authority().map(|a| a.as_str()).unwrap_or(""),
        uri.path()
    );
    let connect_timeout = options
        .and_then(|o| o.connect_timeout)
        .unwrap_or(CONNECT_TIMEOUT)
        .min(CONNECT_TIMEOUT);
    let first_byte_timeout = options
        .and_then(|o| o.first_byte_timeout)
        .unwrap_or(FIRST_BYTE_TIMEOUT)
        .min(FIRST_BYTE_TIMEOUT);

    let stream: Box<dyn Stream> = if host == UNIX_SOCKET_HOST {
        let path = request
            .headers_mut()
            .remove(UNIX_SOCKET_HEADER)
            .and_then(|v| v.to_str().ok().map(str::to_string))
            .ok_or_else(|| {
                refuse(
                    events,
                    format!("{shown}: name the socket in the {UNIX_SOCKET_HEADER} header"),
                )
            })?;
        if scheme != "http" {
            return Err(refuse(
                events,
                format!("{shown}: a Unix socket speaks http"),
            ));
        }
        policy
            .grants
            .check_unix_socket(&path)
            .map_err(|denied| refuse(events, denied.0))?;
        Events::audit(events, "http.request", format!("{shown} via {path}"));
        let stream = tokio::time::timeout(connect_timeout, UnixStream::connect(&path))
            .await
            .map_err(|_| Error::ConnectionTimeout)?
            .map_err(Error::Connect)?;
        Box::new(stream)
    } else {
        let grant = policy
            .grants
            .check_url(&scheme, &host, port)
            .map_err(|denied| refuse(events, denied.0))?
            .clone();
        let port = port.unwrap_or(if scheme == "https" { 443 } else { 80 });
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addresses: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::time::timeout(connect_timeout, tokio::net::lookup_host((bare, port)))
                .await
                .map_err(|_| Error::DnsTimeout)?
                .map_err(|e| Error::DnsError {
                    rcode: Some(e.to_string()),
                    info_code: None,
                })?
                .collect(),
        };
        let ips: Vec<IpAddr> = addresses.iter().map(|a| a.ip()).collect();
        grant
            .check_addresses(&host, &ips)
            .map_err(|denied| refuse(events, denied.0))?;
        Events::audit(events, "http.request", shown.clone());
        let tcp = connect_any(&addresses, connect_timeout).await?;
        if scheme == "https" {
            let name = rustls::pki_types::ServerName::try_from(bare.to_string())
                .map_err(|_| Error::HttpRequestUriInvalid)?;
            let connector = tokio_rustls::TlsConnector::from(tls_config()?);
            let tls = connector.connect(name, tcp).await.map_err(Error::Tls)?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        }
    };

    // the host's credential for this endpoint, never visible to the plugin
    if let Some(credential) = policy
        .credentials
        .iter()
        .find(|c| c.endpoint.allows(&scheme, &host, port))
    {
        let value = HeaderValue::from_str(&credential.authorization)
            .map_err(|_| Error::InternalError(Some("a malformed credential".into())))?;
        request.headers_mut().insert(AUTHORIZATION, value);
    }

    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "plugin HTTP connection ended");
        }
    });
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .build()
        .map_err(|_| Error::HttpRequestUriInvalid)?;
    let response = tokio::time::timeout(first_byte_timeout, sender.send_request(request))
        .await
        .map_err(|_| Error::ConnectionReadTimeout)??;
    let response = response.map(|body| body.map_err(Error::from).boxed_unsync());
    Ok((
        response,
        Box::new(async move {
            let _ = driver.await;
            Ok(())
        }),
    ))
}

trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Stream for T {}

async fn connect_any(addresses: &[SocketAddr], timeout: Duration) -> Result<TcpStream, Error> {
    let mut last = Error::DestinationNotFound;
    for address in addresses {
        match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => last = Error::Connect(error),
            Err(_) => last = Error::ConnectionTimeout,
        }
    }
    Err(last)
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(config.clone());
    }
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.into(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::InternalError(Some(format!("TLS configuration: {e}"))))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(CONFIG.get_or_init(|| Arc::new(config)).clone())
}
