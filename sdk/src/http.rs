//! HTTP over `wasi:http`: the host checks every request against the task's grant, and adds the
//! provider's credential itself (plugins cannot set `authorization`).
//!
//! ```ignore
//! let servers = http::get("https://api.example.com/v1/servers")?;
//! let created = http::Request::post("https://api.example.com/v1/servers")
//!     .header("content-type", "application/json")
//!     .body(br#"{"name":"node-1"}"#.to_vec())
//!     .send()?;
//! ```

/// The authority a plugin sends to for a granted Unix socket.
pub const UNIX_SOCKET_HOST: &str = "unix-socket";
/// The header naming the socket's path.
pub const UNIX_SOCKET_HEADER: &str = "x-weft-unix-socket";

/// Why a request did not get a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The host refused the endpoint (not granted, or it resolves to a refused address).
    Denied(String),
    /// A header the host keeps to itself (`authorization`, hop-by-hop headers).
    ForbiddenHeader(String),
    /// The URL, method or a header is malformed.
    InvalidRequest(String),
    /// The connection or the exchange failed.
    Failed(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Denied(m) => write!(f, "denied: {m}"),
            HttpError::ForbiddenHeader(m) => write!(f, "forbidden header: {m}"),
            HttpError::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            HttpError::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// A request under construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A response, body read in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Request {
    pub fn new(method: &str, url: &str) -> Request {
        Request {
            method: method.to_ascii_uppercase(),
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn get(url: &str) -> Request {
        Request::new("GET", url)
    }

    pub fn post(url: &str) -> Request {
        Request::new("POST", url)
    }

    pub fn put(url: &str) -> Request {
        Request::new("PUT", url)
    }

    pub fn delete(url: &str) -> Request {
        Request::new("DELETE", url)
    }

    /// A request to a granted Unix socket (`path_and_query` like `/v1.43/containers/json`).
    pub fn unix_socket(socket: &str, method: &str, path_and_query: &str) -> Request {
        Request::new(
            method,
            &format!("http://{UNIX_SOCKET_HOST}{path_and_query}"),
        )
        .header(UNIX_SOCKET_HEADER, socket)
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// Sends the request and reads the whole response.
    pub fn send(&self) -> Result<Response, HttpError> {
        crate::backend::http_send(self)
    }
}

/// `GET url`.
pub fn get(url: &str) -> Result<Response, HttpError> {
    Request::get(url).send()
}

/// A URL split as `wasi:http` wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) scheme: String,
    pub(crate) authority: String,
    pub(crate) path_and_query: String,
}

impl Url {
    pub(crate) fn parse(url: &str) -> Result<Url, HttpError> {
        let invalid = || HttpError::InvalidRequest(format!("'{url}' is not an http(s) URL"));
        let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
        if scheme != "http" && scheme != "https" {
            return Err(invalid());
        }
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(invalid());
        }
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        Ok(Url {
            scheme: scheme.to_string(),
            authority: authority.to_string(),
            path_and_query: path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        assert_eq!(
            Url::parse("https://api.example.com:8443/v1/x?y=1"),
            Ok(Url {
                scheme: "https".into(),
                authority: "api.example.com:8443".into(),
                path_and_query: "/v1/x?y=1".into()
            })
        );
        assert_eq!(
            Url::parse("http://h").map(|u| u.path_and_query),
            Ok("/".into())
        );
        assert_eq!(
            Url::parse("http://h?q").map(|u| u.path_and_query),
            Ok("/?q".into())
        );
        assert!(Url::parse("ftp://h/x").is_err());
        assert!(Url::parse("https://user@h/x").is_err());
        assert!(Url::parse("nonsense").is_err());
    }
}
