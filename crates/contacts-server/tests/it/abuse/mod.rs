//! The server under abuse and faults, over real sockets against the built
//! binary, a theme a file: malformed input ([`input`]), who may do what
//! ([`access`]), password guessing ([`passwords`]), faults of the SQLite
//! file ([`storage`]) and load ([`load`]). Every refusal is an envelope
//! (where HTTP parsing lets the server answer at all) and leaves the
//! database unchanged. Each file's `on_postgres` runs its storage cases
//! again on PostgreSQL; PostgreSQL's outage is in `postgres.rs`.
//!
//! Below, what several themes use: raw HTTP on a socket (for requests a
//! client library would not send), Basic credentials, and users of two
//! sources.

mod access;
mod input;
mod load;
mod passwords;
mod storage;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use contacts_testkit::harness::*;
use serde_json::Value;

const CONTACTS_PATH: &str = "/api/v1/customers/000010000005008/contacts";

fn host(server: &Server) -> String {
    server.base.strip_prefix("http://").unwrap().to_owned()
}

/// Sends `request` as raw bytes on a fresh connection and reads the answer
/// until the server closes it.
fn raw_exchange(server: &Server, request: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(host(server)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut bytes = Vec::new();
    // The server may reset the connection after answering a request it could not parse.
    let _ = stream.read_to_end(&mut bytes);
    parse_reply(&bytes)
}

fn parse_reply(bytes: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .filter_map(|(name, value)| {
            Some((
                ureq::http::HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
                ureq::http::HeaderValue::from_str(value.trim()).ok()?,
            ))
        })
        .collect();
    Reply {
        status,
        headers,
        text: body.to_owned(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

/// A raw POST of the contacts path with the sample's credentials, the
/// header lines `extra` (each ending in CRLF) and `body`.
fn raw_post(server: &Server, extra: &[u8], body: &[u8]) -> Reply {
    let mut request = format!(
        "POST {CONTACTS_PATH} HTTP/1.1\r\nHost: {}\r\nAuthorization: {SAMPLE_AUTH}\r\nProfileId: CAAG_302\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        host(server),
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(extra);
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body);
    raw_exchange(server, &request)
}

fn assert_message(reply: &Reply, detail: &str, case: &str) {
    assert!(
        reply.error_messages().iter().any(|m| m.contains(detail)),
        "{case}: {}",
        reply.text
    );
}

/// `Authorization: Basic …` for a user and password.
fn basic(user: &str, password: &str) -> String {
    use base64ct::{Base64, Encoding};
    format!(
        "Basic {}",
        Base64::encode_string(format!("{user}:{password}").as_bytes())
    )
}

/// Users of two sources, all with the development password `ocsuser`:
/// `alice` and `bob` of CAAG, `olga` of OCS, and `carol` in the short form
/// (every profile).
fn two_sources_config(dir: &Path, extra: &str) -> PathBuf {
    let hash = development_hash();
    let path = dir.join("contacts.toml");
    fs::write(
        &path,
        format!(
            "{extra}\n[users]\ncarol = \"{hash}\"\n\
             [users.alice]\npassword_hash = \"{hash}\"\nprofiles = [\"CAAG_302\"]\n\
             [users.bob]\npassword_hash = \"{hash}\"\nprofiles = [\"CAAG_302\"]\n\
             [users.olga]\npassword_hash = \"{hash}\"\nprofiles = [\"OCS_1\"]\n\
             [profiles]\nCAAG_302 = \"CAAG\"\nOCS_1 = \"OCS\"\n\
             [customers]\n\"{ACTIVE}\" = \"active\"\n"
        ),
    )
    .unwrap();
    path
}
