//! The built editor: static files, the single-page fallback to `index.html`,
//! unknown routes as envelopes, and the security headers of every response.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64ct::{Base64, Encoding};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::{AppError, Failure};
use crate::tracking::RequestContext;

/// What the static side serves, and the headers it sends.
#[derive(Debug)]
pub struct Web {
    static_dir: Option<PathBuf>,
    csp: HeaderValue,
}

impl Web {
    /// Serves `static_dir` (if any); the editor may be framed by `frame_ancestors`.
    pub fn new(static_dir: Option<PathBuf>, frame_ancestors: &[String]) -> Result<Self, String> {
        let index = match &static_dir {
            Some(dir) => {
                let path = dir.join("index.html");
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("--static-dir: cannot read {}: {e}", path.display()))?
            }
            None => String::new(),
        };
        let csp = content_security_policy(&index, frame_ancestors);
        let csp = HeaderValue::from_str(&csp).map_err(|e| format!("invalid CSP header: {e}"))?;
        Ok(Self { static_dir, csp })
    }
}

/// The CSP: only this origin's code, WebAssembly compilation allowed, no
/// inline code except the exact inline scripts and styles of `index.html`
/// (Trunk writes its loader inline), allowed by their hashes.
fn content_security_policy(index_html: &str, frame_ancestors: &[String]) -> String {
    let scripts = inline_hashes(index_html, "script");
    let styles = inline_hashes(index_html, "style");
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{scripts}; style-src 'self'{styles}; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors {}",
        frame_ancestors.join(" ")
    )
}

/// ` 'sha256-…'` for each inline element `tag` (one without `src`) in `html`.
fn inline_hashes(html: &str, tag: &str) -> String {
    // ASCII lower-casing keeps byte offsets, so positions found in `lower`
    // slice `html` exactly.
    let lower = html.to_ascii_lowercase();
    let (open, close) = (format!("<{tag}"), format!("</{tag}"));
    let mut hashes = String::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find(&open).map(|i| at + i) {
        let Some(tag_end) = lower[start..].find('>').map(|i| start + i) else {
            break;
        };
        let Some(end) = lower[tag_end..].find(&close).map(|i| tag_end + i) else {
            break;
        };
        let has_src = lower[start..tag_end]
            .split_ascii_whitespace()
            .any(|attribute| attribute.starts_with("src="));
        let content = &html[tag_end + 1..end];
        if !has_src && !content.is_empty() {
            let digest = Sha256::digest(content.as_bytes());
            hashes.push_str(&format!(" 'sha256-{}'", Base64::encode_string(&digest)));
        }
        at = end;
    }
    hashes
}

/// Middleware: the security headers of every response.
pub async fn security_headers(
    State(web): State<Arc<Web>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, web.csp.clone());
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

/// Every request no route matched: a file of the editor, the editor itself
/// for a page address, or a Failure envelope.
pub async fn fallback(
    State(web): State<Arc<Web>>,
    context: RequestContext,
    request: Request,
) -> Response {
    let not_found = || {
        AppError {
            failure: Failure::RouteNotFound,
            tracking_id: context.tracking_id.clone(),
        }
        .into_response()
    };
    let path = request.uri().path().to_owned();
    let readable = matches!(*request.method(), Method::GET | Method::HEAD);
    let Some(dir) = web
        .static_dir
        .as_deref()
        .filter(|_| readable && !is_api(&path))
    else {
        return not_found();
    };
    let method = request.method().clone();
    let request_accept_encoding = request.headers().get(header::ACCEPT_ENCODING).cloned();
    // `NAME.gz` files (written by `cargo xtask dist`) are sent, compressed,
    // to browsers that accept gzip.
    let Ok(found) = ServeDir::new(dir)
        .precompressed_gzip()
        .oneshot(request)
        .await;
    if found.status() != StatusCode::NOT_FOUND {
        return found.into_response();
    }
    if !is_page(&path) {
        return not_found();
    }
    let mut index_request = Request::new(Body::empty());
    *index_request.method_mut() = method;
    if let Some(accepted) = request_accept_encoding {
        index_request
            .headers_mut()
            .insert(header::ACCEPT_ENCODING, accepted);
    }
    let Ok(index) = ServeFile::new(dir.join("index.html"))
        .precompressed_gzip()
        .oneshot(index_request)
        .await;
    let mut index = index.into_response();
    index
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    index
}

/// Whether `path` belongs to the API (`/api` and below) rather than the editor.
pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// A page of the single-page app rather than a file: no extension in its last segment.
fn is_page(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    Path::new(last).extension().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_inline_scripts_only() {
        let html = r#"<html><head><script src="/a.js"></script><SCRIPT type="module">init()</SCRIPT><style>p{}</style></head></html>"#;
        let scripts = inline_hashes(html, "script");
        let expected = Base64::encode_string(&Sha256::digest(b"init()"));
        assert_eq!(scripts, format!(" 'sha256-{expected}'"));
        assert_eq!(inline_hashes(html, "style").matches("sha256-").count(), 1);
        assert_eq!(inline_hashes("<p>no script</p>", "script"), "");
    }

    #[test]
    fn the_policy_allows_wasm_but_no_inline_code() {
        let csp = content_security_policy("", &["https://console.example.com".into()]);
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"),
            "{csp}"
        );
        assert!(
            csp.ends_with("frame-ancestors https://console.example.com"),
            "{csp}"
        );
    }

    #[test]
    fn tells_pages_from_files_and_api() {
        assert!(is_page("/") && is_page("/customers/000010000005008"));
        assert!(!is_page("/app.wasm") && !is_page("/static/x.css"));
        assert!(is_api("/api/v2/x") && is_api("/api") && !is_api("/apiary"));
    }
}
