//! The development issuer of `cargo xtask run` (contacts-testkit's `issuer`)
//! and a real server configured as `cargo xtask run` configures it
//! (`dev_issuer::server_config` over the development configuration, with
//! `--config` and `--dev`): the token of `GET /token` saves, and the audit
//! names `ocsuser` and the issuer; Basic still works; the issuer's origin
//! may frame the editor and call the API; the issuer serves the console's
//! files with their content types, or says that the folder is absent.

use std::fs;
use std::path::Path;

use contacts_testkit::dev_issuer;
use contacts_testkit::harness::*;
use contacts_testkit::issuer::{Grant, start_on_loopback};
use serde_json::{Value, json};

use crate::SERVER;

fn fetch(url: &str) -> Reply {
    Server::reply(client().get(url).call())
}

/// The server as `cargo xtask run` starts it, taking the tokens of `origin`.
fn start_as_xtask_run(dir: &Path, origin: &str) -> Server {
    let config = dir.join("contacts-dev-issuer.toml");
    let development = include_str!("../../dev-config.toml");
    fs::write(&config, dev_issuer::server_config(development, origin)).unwrap();
    let dist = folder(
        dir.join("dist"),
        &[
            ("index.html", "<!doctype html><title>Contacts</title>"),
            ("embed.js", "// the demo page's script"),
        ],
    );
    SERVER.start(
        dir,
        &[
            "--config",
            config.to_str().unwrap(),
            "--dev",
            "--static-dir",
            dist.to_str().unwrap(),
        ],
    )
}

#[test]
fn the_development_issuers_token_is_taken_by_the_server_as_xtask_run_configures_it() {
    let scratch = Scratch::new();
    let console = folder(
        scratch.0.join("console"),
        &[
            ("index.html", "<!doctype html><title>Console</title>"),
            ("console.js", "export {};"),
        ],
    );
    let origin = start_on_loopback(Grant::development(), console).unwrap();
    let server = start_as_xtask_run(&scratch.0, &origin);

    let minted = fetch(&format!("{origin}{}", dev_issuer::TOKEN_PATH));
    assert_eq!(minted.status, 200, "{}", minted.text);
    assert_eq!(minted.header("cache-control"), Some("no-store"));
    let token = minted.body["token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let body = json!({ "contacts": sample_contacts() }).to_string();
    let saved = server.post(
        ACTIVE,
        &body,
        &[
            ("Authorization", &bearer),
            ("Request-Tracking-Id", "DEV-TOKEN-1"),
        ],
    );
    assert_eq!(saved.status, 200, "{}", saved.text);
    let users = server.db.texts(
        "SELECT user_name FROM audit WHERE tracking_id = ?1",
        "DEV-TOKEN-1",
    );
    assert_eq!(users, [format!("ocsuser ({origin})")]);
    // Basic, for the standalone page, and the embedding demo's script.
    assert_eq!(server.get_contacts(ACTIVE).status, 200);
    assert_eq!(server.get("/embed.js", &[]).status, 200);

    // The console's origin may frame the editor and call the API.
    let page = server.get("/", &[]);
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains(&format!("frame-ancestors 'self' {origin}")),
        "{csp}"
    );
    let cross = server.get(
        &format!("/api/v1/customers/{ACTIVE}/contacts"),
        &[
            ("Authorization", &bearer),
            ("ProfileId", "CAAG_302"),
            ("Origin", &origin),
        ],
    );
    assert_eq!(cross.status, 200, "{}", cross.text);
    assert_eq!(
        cross.header("access-control-allow-origin"),
        Some(origin.as_str())
    );

    // The issuer's discovery document and key set, and the console's files.
    let discovery = fetch(&format!("{origin}/.well-known/openid-configuration"));
    assert_eq!(discovery.body["issuer"], Value::from(origin.as_str()));
    let keys = fetch(discovery.body["jwks_uri"].as_str().unwrap());
    assert_eq!(keys.body["keys"][0]["crv"], "P-256", "{}", keys.text);
    assert!(
        keys.body["keys"][0].get("d").is_none(),
        "the private key is served"
    );
    for (path, content_type) in [("/", "text/html"), ("/console.js", "text/javascript")] {
        let file = fetch(&format!("{origin}{path}"));
        assert_eq!(file.status, 200, "{path}");
        let served = file.header("content-type").unwrap_or_default();
        assert!(served.starts_with(content_type), "{path}: {served}");
    }
}

#[test]
fn the_issuer_says_where_the_console_is_absent() {
    let scratch = Scratch::new();
    let origin = start_on_loopback(Grant::development(), scratch.0.join("no-console")).unwrap();
    let page = fetch(&format!("{origin}/"));
    assert_eq!(page.status, 404);
    assert!(page.text.contains("is absent"), "{}", page.text);
    assert_eq!(fetch(&format!("{origin}/token")).status, 200);
}
