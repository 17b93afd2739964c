//! The server as a service: the editor's files with their headers, health
//! and OpenAPI, compressed copies, a configuration file, refusals to start
//! exposed, SIGTERM, and a kill that loses no acknowledged update.

use std::fs;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use contacts_testkit::db::Db;
use contacts_testkit::harness::*;
use serde_json::json;

use crate::SERVER;

#[test]
fn serves_the_editor_with_security_headers_and_health_and_openapi() {
    let scratch = Scratch::new();
    let dist = scratch.0.join("dist");
    fs::create_dir_all(&dist).unwrap();
    fs::write(
        dist.join("index.html"),
        "<!doctype html><title>Contacts</title><script type=\"module\" src=\"loader.js\"></script>",
    )
    .unwrap();
    fs::write(
        dist.join("loader.js"),
        "import './app-0123456789abcdef.js';",
    )
    .unwrap();
    fs::write(dist.join("app-0123456789abcdef.js"), "export {};").unwrap();
    fs::write(dist.join("embed.js"), "// the demo page's script").unwrap();
    fs::write(
        dist.join("embed.html"),
        "<!doctype html><title>Host</title>",
    )
    .unwrap();
    let server = SERVER.start(&scratch.0, &["--static-dir", dist.to_str().unwrap()]);

    for path in ["/", "/customers"] {
        let page = server.get(path, &[]);
        assert_eq!(page.status, 200, "{path}");
        assert!(page.text.contains("<title>Contacts</title>"), "{path}");
        let csp = page.header("content-security-policy").unwrap();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{csp}"
        );
        assert!(
            !csp.contains("'unsafe-inline'") && !csp.contains("'unsafe-eval'"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(page.header("cache-control"), Some("no-cache"), "{path}");
        assert_eq!(
            page.header("cross-origin-opener-policy"),
            Some("same-origin")
        );
        let permissions = page.header("permissions-policy").unwrap();
        assert!(permissions.contains("camera=()"), "{permissions}");
        // Not configured as served over HTTPS.
        assert_eq!(page.header("strict-transport-security"), None);
    }
    // The development login is active: the demo page's script is served.
    assert_eq!(server.get("/embed.js", &[]).status, 200);
    // The demo host page, a stand-in for the console's, has the same
    // headers but the opener policy, which is the console's to choose.
    let host = server.get("/embed.html?ezpay_id=000010000005008", &[]);
    assert_eq!(host.status, 200);
    assert!(host.header("content-security-policy").is_some());
    assert_eq!(host.header("cross-origin-opener-policy"), None);
    // A deploy is picked up at the next load: the entry points are asked for
    // every time, and the files named by a hash of their content are kept.
    for (path, cache_control) in [
        ("/loader.js", "no-cache"),
        (
            "/app-0123456789abcdef.js",
            "public, max-age=31536000, immutable",
        ),
    ] {
        let script = server.get(path, &[]);
        assert_eq!(script.status, 200, "{path}");
        assert!(
            script
                .header("content-type")
                .unwrap()
                .contains("javascript")
        );
        assert_eq!(
            script.header("cache-control"),
            Some(cache_control),
            "{path}"
        );
    }
    // The editor's files are named relative to index.html, which therefore
    // serves only the top folder's page addresses.
    for missing in ["/missing.js", "/customers/000010000005008"] {
        server.get(missing, &[]).assert_failure(404, "Not Found");
    }

    let health = server.get("/healthz", &[]);
    assert_eq!(health.body["status"], "Success", "{}", health.text);
    // A refusal by the outermost middleware carries the security headers too
    // (the fuzz target `server` found one that did not).
    let refused = server.get("/healthz", &[("Request-Tracking-Id", "a b")]);
    refused.assert_failure(400, "Bad Request");
    assert!(refused.header("content-security-policy").is_some());
    assert_eq!(refused.header("x-content-type-options"), Some("nosniff"));

    let openapi = server.get("/openapi.json", &[]);
    assert_eq!(openapi.body["openapi"], "3.1.0");
    let path = &openapi.body["paths"]["/api/v1/customers/{eZpayID}/contacts"];
    assert!(path["post"].is_object() && path["get"].is_object());
    let request = &openapi.body["components"]["schemas"]["ContactsRequest"];
    assert_eq!(request["required"], json!(["contacts"]));
}

#[test]
fn sends_the_compressed_copy_of_a_file_that_the_client_accepts() {
    let scratch = Scratch::new();
    let dist = scratch.0.join("dist");
    fs::create_dir_all(&dist).unwrap();
    // Stand-ins for what `cargo xtask dist` writes: the compressed copies'
    // bytes are recognisable, so the test sees which file was sent.
    for (name, plain) in [
        ("index.html", "<!doctype html><title>Contacts</title>"),
        ("app.js", "export {};"),
    ] {
        fs::write(dist.join(name), plain).unwrap();
        fs::write(dist.join(format!("{name}.gz")), format!("gzip of {name}")).unwrap();
        fs::write(dist.join(format!("{name}.br")), format!("br of {name}")).unwrap();
    }
    fs::write(dist.join("plain.css"), "p {}").unwrap();
    let server = SERVER.start(&scratch.0, &["--static-dir", dist.to_str().unwrap()]);
    let fetch = |path: &str, accept: Option<&str>| {
        let mut request = server.agent.get(server.url(path));
        if let Some(accept) = accept {
            request = request.header("Accept-Encoding", accept);
        }
        let mut response = request.call().unwrap();
        let encoding = response
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_owned());
        let vary = response
            .headers()
            .get("vary")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.body_mut().read_to_string().unwrap();
        (encoding, vary, body)
    };

    for (path, file) in [
        ("/app.js", "app.js"),
        ("/customers", "index.html"),
        ("/", "index.html"),
    ] {
        // What Chromium sends, also over plain HTTP: brotli is preferred.
        for (accept, sent) in [
            ("gzip, deflate, br, zstd", "br"),
            ("gzip, br;q=0.5", "gzip"),
            ("gzip, deflate", "gzip"),
        ] {
            let (encoding, vary, body) = fetch(path, Some(accept));
            assert_eq!(encoding.as_deref(), Some(sent), "{path} {accept}");
            assert_eq!(vary.as_deref(), Some("accept-encoding"), "{path}");
            assert_eq!(body, format!("{sent} of {file}"), "{path} {accept}");
        }
        let (encoding, _, body) = fetch(path, None);
        assert_eq!(encoding, None, "{path}");
        assert!(!body.contains(" of "), "{path}: {body}");
    }
    // A file without a compressed copy is sent as it is.
    let (encoding, _, body) = fetch("/plain.css", Some("gzip, br"));
    assert_eq!((encoding, body.as_str()), (None, "p {}"));
}

#[test]
fn a_configuration_file_sets_users_profiles_customers_and_framing() {
    let scratch = Scratch::new();
    let mut hasher = SERVER
        .command()
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut hasher.stdin.take().unwrap(), b"s3cret\n").unwrap();
    let hashed = hasher.wait_with_output().unwrap();
    assert!(hashed.status.success());
    let hash = String::from_utf8(hashed.stdout).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let config = scratch.0.join("contacts.toml");
    fs::write(
        &config,
        format!(
            "frame_ancestors = [\"https://console.example.com\"]\n\
             [users]\nagent1 = \"{}\"\n\
             [profiles]\nCAAG_999 = \"CAAG\"\n\
             [customers]\n\"000000000000042\" = \"active\"\n",
            hash.trim()
        ),
    )
    .unwrap();
    let server = SERVER.start(&scratch.0, &["--config", config.to_str().unwrap()]);
    let path = "/api/v1/customers/000000000000042/contacts";
    let agent1 = ("Authorization", "Basic YWdlbnQxOnMzY3JldA==");
    let reply = server.get(path, &[agent1, ("ProfileId", "CAAG_999")]);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["contacts"], json!([]));
    assert!(
        reply
            .header("content-security-policy")
            .unwrap()
            .ends_with("frame-ancestors https://console.example.com")
    );
    server
        .get(
            path,
            &[("Authorization", SAMPLE_AUTH), ("ProfileId", "CAAG_999")],
        )
        .assert_failure(401, "Unauthorized");
    server
        .get(path, &[agent1, ("ProfileId", "CAAG_302")])
        .assert_failure(500, "Service Error");
    server
        .get(
            &format!("/api/v1/customers/{ACTIVE}/contacts"),
            &[agent1, ("ProfileId", "CAAG_999")],
        )
        .assert_failure(404, "Not Found");
}

/// With a configuration, the demo page's development credentials are not
/// served, and a server reached over HTTPS says so to browsers.
#[test]
fn a_configured_server_hides_the_demo_credentials_and_sends_hsts() {
    let scratch = Scratch::new();
    let dist = folder(
        scratch.0.join("dist"),
        &[
            ("index.html", "<!doctype html><title>Contacts</title>"),
            ("embed.js", "// the demo page's script"),
            ("embed.js.gz", "not really gzip"),
            ("embed.js.br", "not really brotli"),
        ],
    );
    let server = SERVER.start_configured(
        &scratch.0,
        "served_over_https = true",
        &["--static-dir", dist.to_str().unwrap()],
    );
    for path in ["/embed.js", "/embed.js.gz", "/embed.js.br"] {
        server.get(path, &[]).assert_failure(404, "Not Found");
    }
    let page = server.get("/", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    assert!(
        server
            .get_contacts(ACTIVE)
            .header("strict-transport-security")
            .is_some()
    );
}

/// Runs the binary with `args` and returns its exit code and standard error.
fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let output = SERVER
        .command()
        .args(args)
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The development login is not exposed by mistake, and framing is granted
/// to exact origins only.
#[test]
fn refuses_to_start_exposed_or_framed_by_wildcards() {
    let scratch = Scratch::new();
    let db = scratch.0.join("contacts.sqlite");
    let (code, stderr) = run_to_exit(&["--addr", "0.0.0.0:0", "--db", db.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0") && stderr.contains("--dev"),
        "{stderr}"
    );
    assert!(!db.exists(), "the database was created");
    for wildcard in ["https://*.example.com", "https:"] {
        let config = config_file(
            &scratch.0,
            &development_customers(),
            &format!("frame_ancestors = [\"{wildcard}\"]"),
        );
        let (code, stderr) = run_to_exit(&[
            "--addr",
            "127.0.0.1:0",
            "--db",
            db.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains("frame_ancestors"), "{stderr}");
    }
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let scratch = Scratch::new();
    let mut server = SERVER.start(&scratch.0, &[]);
    let status = server.terminate();
    assert!(status.success(), "{status}");
}

/// Load from 16 clients, `kill -9` mid-way, restart: every Success is stored
/// with its outbox rows, and no request is half-written.
#[test]
fn no_acknowledged_update_is_lost_to_a_kill() {
    const REQUESTS: usize = 2_000;
    const CLIENTS: usize = 16;
    const KILL_AFTER: usize = 500;
    let scratch = Scratch::new();
    let mut server = SERVER.start(&scratch.0, &[]);
    let next = AtomicUsize::new(0);
    let acknowledged = Mutex::new(Vec::new());
    let customers = [ACTIVE, INACTIVE, CANCELLED];
    let (agent, base) = (server.agent.clone(), server.base.clone());
    let started = Instant::now();
    thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= REQUESTS {
                        break;
                    }
                    let id = format!("load-{i}");
                    let contacts = json!([{ "type": "billing", "name": format!("Load {i}") }]);
                    let body = json!({ "contacts": contacts }).to_string();
                    let url = format!("{base}/api/v1/customers/{}/contacts", customers[i % 3]);
                    let mut request = agent.post(url);
                    for (name, value) in [
                        ("Authorization", SAMPLE_AUTH),
                        ("ProfileId", "CAAG_302"),
                        ("Content-Type", "application/json"),
                        ("Request-Tracking-Id", id.as_str()),
                    ] {
                        request = request.header(name, value);
                    }
                    // After the kill every request fails to connect: that is expected.
                    if let Ok(mut response) = request.send(&body)
                        && response.status() == 200
                        && response
                            .body_mut()
                            .read_to_string()
                            .is_ok_and(|t| t.contains("\"Success\""))
                    {
                        acknowledged.lock().unwrap().push(id);
                    }
                }
            });
        }
        while acknowledged.lock().unwrap().len() < KILL_AFTER {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the load is too slow"
            );
            thread::sleep(Duration::from_millis(1));
        }
        // SIGKILL: no shutdown, no flush.
        server.child.kill().unwrap();
    });
    server.child.wait().unwrap();
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(
        acknowledged.len() < REQUESTS,
        "the kill came after the load ended"
    );
    drop(server);

    let restarted = SERVER.start(&scratch.0, &[]);
    let db = &restarted.db;
    if let Db::Sqlite(path) = db {
        let integrity: String = rusqlite::Connection::open(path)
            .unwrap()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
    }
    let [requests, audit, outbox] =
        ["requests", "audit", "outbox"].map(|table| db.rows_per_tracking_id(table));
    let rows = |table: &std::collections::HashMap<String, i64>, id: &String| {
        table.get(id).copied().unwrap_or(0)
    };
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| (rows(&outbox, id), rows(&audit, id)) != (2, 1))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    let half_written: Vec<&String> = requests
        .keys()
        .filter(|id| (rows(&outbox, id), rows(&audit, id)) != (2, 1))
        .collect();
    assert!(half_written.is_empty(), "{half_written:?}");
    println!(
        "durability: {} acknowledged before kill -9, 0 lost, {:.1} s",
        acknowledged.len(),
        started.elapsed().as_secs_f64()
    );
    let reply = restarted.get_contacts(ACTIVE);
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// The same on PostgreSQL.
mod on_postgres {
    contacts_testkit::postgres_too!(
        serves_the_editor_with_security_headers_and_health_and_openapi,
        sends_the_compressed_copy_of_a_file_that_the_client_accepts,
        a_configuration_file_sets_users_profiles_customers_and_framing,
        a_configured_server_hides_the_demo_credentials_and_sends_hsts,
        refuses_to_start_exposed_or_framed_by_wildcards,
        sigterm_stops_the_server_cleanly,
        no_acknowledged_update_is_lost_to_a_kill,
    );
}
