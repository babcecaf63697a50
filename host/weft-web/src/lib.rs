//! The web UI's files, served at `/` by `weft server`.
//!
//! `npm run build --prefix web` writes them to `web/dist`. A release build embeds that folder
//! (one binary to ship); a debug build reads it from disk, so tests and UI work need no
//! rebuild of the server. A path that names no file and has no extension is one of the UI's
//! own routes (`/clusters/42`) and gets `index.html`; the UI routes it in the browser.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Assets;

/// The browser may load scripts, styles and data only from this server; no frames.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// What a server without a built UI answers at `/`.
const NOT_BUILT: &str = "Weft's web UI is not built into this server. Build it with \
                         `npm ci --prefix web && npm run build --prefix web` (the README's \
                         `just run` does), then rebuild or restart the server.\n";

/// Answers a request for a UI path (anything outside the API).
pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    if let Some(file) = Assets::get(path) {
        return file_response(path, file);
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return (StatusCode::NOT_FOUND, format!("no file '{path}'\n")).into_response();
    }
    match Assets::get("index.html") {
        Some(index) => file_response("index.html", index),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response(),
    }
}

fn file_response(path: &str, file: rust_embed::EmbeddedFile) -> Response {
    let mime = file.metadata.mimetype().to_string();
    // Vite names built assets by content hash: they never change under one name
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = (StatusCode::OK, file.data.into_owned()).into_response();
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Whether the UI is built into (or, in a debug build, beside) this server.
pub fn is_built() -> bool {
    Assets::get("index.html").is_some()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, String, String) {
        let app = axum::Router::new().fallback(super::serve);
        let response = app
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("answer");
        let status = response.status();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, kind, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_missing_file_is_404_and_never_the_app() {
        let (status, _, body) = get("/assets/no-such-file.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(!body.contains("<html"), "{body}");
    }

    #[tokio::test]
    async fn paths_cannot_leave_the_ui_folder() {
        for path in [
            "/../../Cargo.toml",
            "/..%2f..%2fCargo.toml",
            "/assets/../../../Cargo.toml",
        ] {
            let (_, _, body) = get(path).await;
            assert!(!body.contains("[package]"), "{path} escaped: {body}");
        }
    }

    /// A route of the UI gets index.html when the UI is built (`npm run build --prefix web`,
    /// which `just test` runs first), and a message saying how to build it otherwise.
    #[tokio::test]
    async fn ui_routes_get_the_app_or_how_to_build_it() {
        let (status, kind, body) = get("/clusters/42").await;
        if super::is_built() {
            assert_eq!(status, StatusCode::OK);
            assert!(kind.starts_with("text/html"), "{kind}");
            assert!(body.contains("<div id=\"root\">"), "{body}");
        } else {
            assert_eq!(status, StatusCode::NOT_FOUND);
            assert!(body.contains("npm run build --prefix web"), "{body}");
        }
    }
}
