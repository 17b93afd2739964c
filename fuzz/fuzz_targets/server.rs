//! The server's request handling: an HTTP/1.1 request message (request line,
//! headers, body) through the whole router in-process, without a socket.
//!
//! The seeds are readable HTTP requests (the contract's sample among them),
//! so that libFuzzer mutates methods, paths, headers and bodies alike. Every
//! answer must keep the server's promises: no panic; no 500 but "Source not
//! configured"; an envelope on every API path whose status matches the HTTP
//! status and whose tracking id is the one in the `Request-Tracking-Id`
//! header; no `WWW-Authenticate` header; the security headers always; and no
//! file outside the static folder ever served.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, header};
use contacts_model::{Envelope, Status, TrackingId};
use contacts_server::Database;
use contacts_server::cli::Options;
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// The most headers a fuzzed request may carry.
const MAX_HEADERS: usize = 32;

/// The content of a file beside (not inside) the static folder; a response
/// holding it would be a path traversal.
const SECRET: &str = "fuzz-secret-outside-the-static-folder";

/// The application under test, built once per process.
struct Harness {
    runtime: Runtime,
    app: Router,
}

fuzz_target!(|data: &[u8]| {
    let Some(request) = read_request(data) else {
        return;
    };
    let harness = harness();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let (status, headers, body) = harness.runtime.block_on(async {
        let response: Response<Body> = harness
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("a response body is readable");
        (parts.status, parts.headers, body)
    });
    let body = String::from_utf8_lossy(&body);
    check_headers(&headers);
    assert!(
        !body.contains(SECRET),
        "{method} {path} served a file outside the static folder"
    );
    let is_api = path == "/api" || path.starts_with("/api/");
    let readable = method == Method::GET || method == Method::HEAD;
    if method != Method::HEAD && (is_api || !readable) {
        check_envelope(status, &headers, &body);
    }
});

/// Reads an HTTP/1.1 request message; `None` where it is not one.
fn read_request(data: &[u8]) -> Option<Request<Body>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head_len) = parsed.parse(data).ok()? else {
        return None;
    };
    let mut builder = Request::builder().method(parsed.method?).uri(parsed.path?);
    for h in parsed.headers.iter() {
        builder = builder.header(h.name, h.value);
    }
    builder.body(Body::from(data[head_len..].to_vec())).ok()
}

fn check_headers(headers: &HeaderMap) {
    assert!(
        !headers.contains_key(header::WWW_AUTHENTICATE),
        "a WWW-Authenticate header makes browsers prompt for credentials"
    );
    assert!(headers.contains_key(header::CONTENT_SECURITY_POLICY));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    if let Some(id) = headers.get("request-tracking-id") {
        let id = id.to_str().expect("an echoed tracking id is ASCII");
        assert!(
            TrackingId::parse(id).is_ok(),
            "echoed an invalid tracking id {id:?}"
        );
    }
}

fn check_envelope(status: StatusCode, headers: &HeaderMap, body: &str) {
    let envelope = Envelope::from_json(body)
        .unwrap_or_else(|e| panic!("{status}: the body is not an envelope ({e}): {body}"));
    match envelope.error() {
        None => assert_eq!(status, StatusCode::OK, "a Success with {status}: {body}"),
        Some(error) => {
            assert_eq!(
                error.code,
                status.as_str(),
                "error.code and the HTTP status differ: {body}"
            );
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                let messages: Vec<&str> = error.errors.iter().map(|e| e.message.as_str()).collect();
                assert_eq!(
                    messages,
                    ["Source not configured"],
                    "a service error: {body}"
                );
            }
        }
    }
    assert_eq!(
        envelope.status() == Status::Success,
        status == StatusCode::OK
    );
    let echoed = headers
        .get("request-tracking-id")
        .and_then(|v| v.to_str().ok());
    assert_eq!(
        echoed,
        envelope.request_tracking_id(),
        "header and body echo different ids"
    );
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let state = state_dir();
        let static_dir = state.join("static");
        std::fs::create_dir_all(&static_dir).expect("a static folder");
        std::fs::write(
            static_dir.join("index.html"),
            "<!doctype html><title>editor</title>",
        )
        .expect("an index.html");
        std::fs::write(static_dir.join("app.js"), "export {};").expect("a script");
        std::fs::write(state.join("secret.txt"), SECRET).expect("a secret file");
        let options = Options {
            addr: ([127, 0, 0, 1], 0).into(),
            db: Database::Sqlite(state.join("contacts.sqlite")),
            static_dir: Some(static_dir),
            // The development configuration: user ocsuser/ocsuser, ProfileId
            // CAAG_302 and the three customers the seeds use.
            config: None,
            ..Options::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let app = runtime
            .block_on(contacts_server::app(&options))
            .expect("the application starts");
        Harness { runtime, app }
    })
}

/// A fresh folder for this process under `fuzz/target/server-state/`, after
/// removing those of processes that have ended (libFuzzer exits without
/// running destructors, so each run cleans up after the previous ones).
fn state_dir() -> PathBuf {
    let parent = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("server-state");
    if let Ok(entries) = std::fs::read_dir(&parent) {
        for entry in entries.flatten() {
            let pid = entry.file_name();
            if !Path::new("/proc").join(&pid).exists() {
                // A folder that cannot be removed only costs disk space.
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = parent.join(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a state folder");
    dir
}
