//! The built editor: static files with their caching rules, the single-page
//! fallback to `index.html`, unknown routes as envelopes, and the security
//! headers of every response.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::http::error::Failure;
use crate::http::tracking::RequestContext;

/// What the static side serves, and the headers it sends.
#[derive(Debug)]
pub struct Web {
    site: Option<Site>,
    csp: HeaderValue,
    /// `Strict-Transport-Security`, where the server is reached over HTTPS.
    hsts: Option<HeaderValue>,
    /// Whether the development login is active, and with it the demo
    /// page's script, which holds the development credentials.
    development_login: bool,
    /// `frame-origins.json`: `{"origins": […]}`, the `frame-ancestors` sources.
    frame_origins: String,
}

/// What decides the headers and files the static side sends.
#[derive(Debug)]
pub struct Headers<'a> {
    /// The CSP `frame-ancestors` sources.
    pub frame_ancestors: &'a [String],
    /// Whether clients reach the server over HTTPS.
    pub served_over_https: bool,
    /// Whether the server runs with the development login (no `--config`).
    pub development_login: bool,
}

/// The demo page's script, which signs in with the development credentials.
const DEMO_SCRIPT: &str = "embed.js";

/// Browser features the editor never uses, denied to it and to what it embeds.
const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
     magnetometer=(), microphone=(), payment=(), usb=()";

/// The editor's folder, served two ways.
#[derive(Debug)]
struct Site {
    /// Its files; `NAME.gz` (written by `cargo xtask dist`) is sent instead
    /// of `NAME` to browsers that accept gzip.
    files: ServeDir,
    /// The same, with `index.html` for any address that names no file.
    pages: ServeDir<ServeFile>,
}

impl Web {
    /// Serves `static_dir` (if any) with the headers `headers` decides.
    pub fn new(static_dir: Option<PathBuf>, headers: &Headers<'_>) -> Result<Self, String> {
        let site = static_dir
            .map(|dir| {
                let index = dir.join("index.html");
                if !index.is_file() {
                    return Err(format!("--static-dir: {} is not a file", index.display()));
                }
                let files = ServeDir::new(&dir).precompressed_gzip();
                let pages = files
                    .clone()
                    .fallback(ServeFile::new(index).precompressed_gzip());
                Ok(Site { files, pages })
            })
            .transpose()?;
        let csp = HeaderValue::from_str(&content_security_policy(headers.frame_ancestors))
            .map_err(|e| format!("invalid CSP header: {e}"))?;
        let hsts = headers
            .served_over_https
            .then_some(HeaderValue::from_static("max-age=31536000"));
        Ok(Self {
            site,
            csp,
            hsts,
            development_login: headers.development_login,
            frame_origins: serde_json::json!({ "origins": headers.frame_ancestors }).to_string(),
        })
    }
}

/// The CSP: only this origin's code, WebAssembly compilation allowed, no
/// inline code at all (the editor's pages load their scripts from files).
fn content_security_policy(frame_ancestors: &[String]) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors {}",
        frame_ancestors.join(" ")
    )
}

/// `GET /frame-origins.json`: the sources of `frame_ancestors` (`'self'` or
/// origins), the only origins whose messages the framed editor
/// (`frame.html`) takes and to which it posts. A static host serving
/// `dist/` without this server writes the file itself.
pub async fn frame_origins(State(web): State<Arc<Web>>) -> Response {
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    (headers, web.frame_origins.clone()).into_response()
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
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(PERMISSIONS_POLICY),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if let Some(hsts) = &web.hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    response
}

/// Every request no route matched: a file of the editor, the editor itself
/// for a page address, or a Failure envelope.
pub async fn fallback(
    State(web): State<Arc<Web>>,
    context: RequestContext,
    request: Request,
) -> Response {
    let path = request.uri().path().to_owned();
    let readable = matches!(*request.method(), Method::GET | Method::HEAD);
    let served = readable && !is_api(&path) && (web.development_login || !is_demo_script(&path));
    let site = web.site.as_ref().filter(|_| served);
    let found = match site {
        Some(site) if is_page(&path) => site.pages.clone().oneshot(request).await,
        Some(site) => site.files.clone().oneshot(request).await,
        None => return context.fail(Failure::RouteNotFound).into_response(),
    };
    let Ok(mut found) = found;
    if found.status() == StatusCode::NOT_FOUND {
        return context.fail(Failure::RouteNotFound).into_response();
    }
    found
        .headers_mut()
        .insert(header::CACHE_CONTROL, cache_control(&path));
    found.into_response()
}

/// Whether `path` names the demo page's script (or its gzipped copy) as the
/// file server reads it: percent-decoded (`/%65mbed.js`), whatever empty or
/// `.` segments (`/embed.js/`, `//./embed.js`) or letter case.
fn is_demo_script(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let name = decoded
        .split('/')
        .rfind(|segment| !segment.is_empty() && *segment != ".")
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(name);
    name.eq_ignore_ascii_case(DEMO_SCRIPT)
}

/// How long a browser may keep a file: for ever where its name carries a
/// hash of its content (Trunk's `NAME-HASH.ext`), since a new build names
/// new content anew; otherwise it asks every time (`index.html`, the
/// loaders, the stable module for embedding), so that a deploy is picked up
/// at the next load.
fn cache_control(path: &str) -> HeaderValue {
    if is_content_hashed(path) {
        HeaderValue::from_static("public, max-age=31536000, immutable")
    } else {
        HeaderValue::from_static("no-cache")
    }
}

/// Whether the last segment of `path` reads `NAME-HASH.ext` or, as
/// wasm-bindgen names the module, `NAME-HASH_bg.wasm`: HASH being Trunk's 64-bit
/// content hash in hex, at least 8 digits (Trunk drops leading zeros; a
/// shorter one merely goes uncached).
fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let Some((stem, _)) = name.split_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        (8..=16).contains(&hash.len())
            && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Whether `path` belongs to the API (`/api` and below) rather than the editor.
pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// A page of the single-page app rather than a file: no extension, and in
/// the top folder, since `index.html` names the editor's files relative to
/// itself: at `/a/b` the browser would look for them in `/a/`.
fn is_page(path: &str) -> bool {
    let Some(name) = path.strip_prefix('/') else {
        return false;
    };
    !name.contains('/') && Path::new(name).extension().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_wasm_but_no_inline_code() {
        let csp = content_security_policy(&["https://console.example.com".into()]);
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

    #[tokio::test]
    async fn frame_origins_are_the_frame_ancestors() {
        let ancestors = [
            "'self'".to_owned(),
            "https://console.example.com".to_owned(),
        ];
        let headers = Headers {
            frame_ancestors: &ancestors,
            served_over_https: false,
            development_login: false,
        };
        let web = Arc::new(Web::new(None, &headers).expect("valid headers"));
        let response = frame_origins(State(web)).await;
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("a small body");
        assert_eq!(
            body,
            r#"{"origins":["'self'","https://console.example.com"]}"#
        );
    }

    #[test]
    fn tells_pages_from_files_and_api() {
        assert!(is_page("/") && is_page("/customers"));
        assert!(!is_page("/app.wasm") && !is_page("/static/x.css"));
        assert!(!is_page("/customers/000010000005008"));
        assert!(is_api("/api/v2/x") && is_api("/api") && !is_api("/apiary"));
    }

    #[test]
    fn knows_the_demo_script_however_its_path_is_written() {
        for hidden in [
            "/embed.js",
            "/embed.js.gz",
            "/%65mbed.js",
            "/%65%6D%62%65%64%2E%6A%73",
            "/embed.js%2Egz",
            "/embed.js/",
            "/embed.js%2F",
            "//./embed.js",
            "/x/EMBED.JS",
        ] {
            assert!(is_demo_script(hidden), "{hidden}");
        }
        for other in ["/", "/embed.json", "/loader.js", "/embed", "/%zzembed.js"] {
            assert!(!is_demo_script(other), "{other}");
        }
    }

    #[test]
    fn caches_content_hashed_files_for_ever_and_asks_for_the_rest() {
        for hashed in [
            "/contacts-editor-4f1c0a9be2d37c15_bg.wasm",
            "/contacts/contacts-editor-4f1c0a9be2d37c15.js",
            "/editor-9be2d37c15.css",
        ] {
            assert_eq!(cache_control(hashed), "public, max-age=31536000, immutable");
        }
        for stable in [
            "/",
            "/index.html",
            "/loader.js",
            "/contacts-editor.js",
            "/embed.js",
            "/customers/000010000005008",
            "/contacts-editor-1234567.js",
            "/contacts-editor-4f1c0a9be2d37c15x.js",
        ] {
            assert_eq!(cache_control(stable), "no-cache", "{stable}");
        }
    }
}
