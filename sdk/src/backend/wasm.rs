//! Inside a component: the host's interfaces.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, HeaderError, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme,
};
use wasip2::io::streams::StreamError;

use crate::bindings::provider::weft::plugin0_1_0::log as wit_log;
use crate::bindings::provider::weft::plugin0_1_0::log::Level;
use crate::bindings::provider::weft::plugin0_1_0::resources::{self, ResourceError};
use crate::bindings::provider::weft::plugin0_1_0::secrets::{self, SecretError};
use crate::bindings::provider::weft::plugin0_1_0::ssh::{self, ExecOutput, SshError};
use crate::http::{HttpError, Request, Response, Url};

pub(crate) type SessionHandle = ssh::Session;
pub(crate) type SecretHandle = secrets::Secret;

pub(crate) fn log(level: Level, message: &str, fields: &[(String, String)]) {
    wit_log::log(level, message, fields);
}

pub(crate) fn ssh_open(target: &str) -> Result<SessionHandle, SshError> {
    ssh::open(target)
}
pub(crate) fn ssh_exec(session: &SessionHandle, command: &str) -> Result<ExecOutput, SshError> {
    session.exec(command)
}
pub(crate) fn ssh_upload(
    session: &SessionHandle,
    path: &str,
    data: &[u8],
    mode: u32,
) -> Result<(), SshError> {
    session.upload(path, data, mode)
}
pub(crate) fn ssh_download(session: &SessionHandle, path: &str) -> Result<Vec<u8>, SshError> {
    session.download(path)
}

pub(crate) fn secret_names() -> Vec<String> {
    secrets::names()
}
pub(crate) fn secret_get(name: &str) -> Result<SecretHandle, SecretError> {
    secrets::get(name)
}
pub(crate) fn secret_name(secret: &SecretHandle) -> String {
    secret.name()
}
pub(crate) fn secret_reveal(secret: &SecretHandle) -> String {
    secrets::reveal(secret)
}

pub(crate) fn resource_entries(dir: &str) -> Result<Vec<String>, ResourceError> {
    resources::entries(dir)
}
pub(crate) fn resource_read(path: &str) -> Result<Vec<u8>, ResourceError> {
    resources::read(path)
}

fn failed(what: &str) -> HttpError {
    HttpError::Failed(what.to_string())
}

fn from_code(code: ErrorCode) -> HttpError {
    match code {
        ErrorCode::HttpRequestDenied => {
            HttpError::Denied("the host refused this endpoint for this task".into())
        }
        other => HttpError::Failed(format!("{other:?}")),
    }
}

pub(crate) fn http_send(request: &Request) -> Result<Response, HttpError> {
    let url = Url::parse(&request.url)?;
    let fields = Fields::new();
    let mut headers = request.headers.clone();
    // a known length rather than chunked encoding, which some APIs refuse (Docker refuses a
    // chunked POST even when it is empty)
    let bodyless = matches!(request.method.as_str(), "GET" | "HEAD");
    if (!request.body.is_empty() || !bodyless)
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        headers.push(("content-length".into(), request.body.len().to_string()));
    }
    for (name, value) in &headers {
        fields
            .append(name, value.as_bytes())
            .map_err(|error| match error {
                HeaderError::InvalidSyntax => {
                    HttpError::InvalidRequest(format!("header '{name}' is malformed"))
                }
                _ => HttpError::ForbiddenHeader(format!(
                    "the host does not let plugins set '{name}'"
                )),
            })?;
    }
    let outgoing = OutgoingRequest::new(fields);
    let method = match request.method.as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    };
    let scheme = if url.scheme == "https" {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let invalid = |what: &str| HttpError::InvalidRequest(format!("{what} of '{}'", request.url));
    outgoing
        .set_method(&method)
        .map_err(|()| invalid("the method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("the scheme"))?;
    outgoing
        .set_authority(Some(&url.authority))
        .map_err(|()| invalid("the authority"))?;
    outgoing
        .set_path_with_query(Some(&url.path_and_query))
        .map_err(|()| invalid("the path"))?;
    let body = outgoing
        .body()
        .map_err(|()| failed("the request body was taken"))?;
    let pending = outgoing_handler::handle(outgoing, None).map_err(from_code)?;
    {
        let stream = body
            .write()
            .map_err(|()| failed("the request body stream was taken"))?;
        for chunk in request.body.chunks(4096) {
            match stream.blocking_write_and_flush(chunk) {
                Ok(()) => {}
                // the server answered without reading the whole body: take its answer
                Err(StreamError::Closed) => break,
                Err(e) => return Err(HttpError::Failed(format!("sending the body: {e:?}"))),
            }
        }
    }
    OutgoingBody::finish(body, None).map_err(from_code)?;
    let response = loop {
        if let Some(response) = pending.get() {
            break response;
        }
        pending.subscribe().block();
    };
    let response = response
        .map_err(|()| failed("the response was taken twice"))?
        .map_err(from_code)?;
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let incoming = response
        .consume()
        .map_err(|()| failed("the response body was taken"))?;
    let mut bytes = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| failed("the response body stream was taken"))?;
        loop {
            match stream.blocking_read(64 << 10) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(HttpError::Failed(format!(
                        "reading the body: {}",
                        e.to_debug_string()
                    )));
                }
            }
        }
    }
    let _trailers = IncomingBody::finish(incoming);
    Ok(Response {
        status,
        headers,
        body: bytes,
    })
}
