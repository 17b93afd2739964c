//! The built server under test: started on 127.0.0.1 with its own database
//! (a SQLite file in the test's scratch directory, or a PostgreSQL database
//! inside [`on_postgres`](crate::db::on_postgres)), an HTTP client with the
//! contract's sample headers, configuration files of the development user,
//! and the Prometheus text read back. The tests name the program:
//! `ServerBinary::new(env!("CARGO_BIN_EXE_contacts-server"))`, so this crate
//! does not depend on the server.

// The helpers below are test code too: a failed setup step is a failed test,
// and `clippy.toml`'s allowance covers only `#[test]` functions themselves.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::db::Db;

/// The contract sample's `Authorization`: the development user `ocsuser`.
pub const SAMPLE_AUTH: &str = "Basic b2NzdXNlcjpvY3N1c2Vy";
/// The development customers, one in each state.
pub const ACTIVE: &str = "000010000005008";
pub const INACTIVE: &str = "000010000005009";
pub const CANCELLED: &str = "000010000005010";

/// The contacts of the contract's sample request.
pub fn sample_contacts() -> Value {
    let request: Value = serde_json::from_str(include_str!(
        "../../contacts-model/tests/fixtures/contract-sample-request.json"
    ))
    .expect("the fixture is JSON");
    request["contacts"].clone()
}

/// A scratch directory removed when dropped.
#[derive(Debug)]
pub struct Scratch(pub PathBuf);

// Making one creates a directory: no `Default` that would hide it.
#[allow(clippy::new_without_default)]
impl Scratch {
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "contacts-server-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The server program under test, as cargo built it for the tests.
#[derive(Debug, Clone, Copy)]
pub struct ServerBinary(&'static str);

impl ServerBinary {
    /// The program at `path`: `env!("CARGO_BIN_EXE_contacts-server")`.
    pub const fn new(path: &'static str) -> Self {
        Self(path)
    }

    /// The program, to run with arguments of a test's own.
    pub fn command(self) -> Command {
        Command::new(self.0)
    }

    /// Starts the server without its relay: the outbox stays as written, and
    /// nothing is sent to the development targets' ports.
    pub fn start(self, dir: &Path, extra: &[&str]) -> Server {
        let mut args = vec!["--no-relay"];
        args.extend_from_slice(extra);
        self.start_relaying(dir, &args)
    }

    /// Starts the server as configured, relay included unless `--no-relay`.
    pub fn start_relaying(self, dir: &Path, extra: &[&str]) -> Server {
        self.start_with_env(dir, extra, &[])
    }

    /// Starts the server with `env` added to its environment.
    pub fn start_with_env(self, dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        self.start_on(Db::for_dir(dir), dir, extra, env)
    }

    /// Starts the server on `db`, logging to `dir/server.log`.
    pub fn start_on(self, db: Db, dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .unwrap();
        let mut child = self
            .command()
            .args(["--addr", "127.0.0.1:0", "--db"])
            .arg(db.arg())
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let mut metrics = None;
        if extra.iter().any(|a| a.starts_with("--metrics-addr")) {
            let mut second = String::new();
            stdout.read_line(&mut second).unwrap();
            metrics = second.trim().strip_prefix("metrics on ").map(str::to_owned);
        }
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            panic!(
                "no start-up line: {line:?}; log: {}",
                fs::read_to_string(dir.join("server.log")).unwrap_or_default()
            );
        };
        Server {
            binary: self,
            base: base.to_owned(),
            metrics,
            child,
            db,
            agent: client(),
        }
    }

    /// Starts the server with a configuration of the development user,
    /// profile and customers and `extra` TOML (see [`config_file`]), and `flags`.
    pub fn start_configured(self, dir: &Path, extra: &str, flags: &[&str]) -> Server {
        let config = config_file(dir, &development_customers(), extra);
        let mut args = vec!["--config", config.to_str().unwrap()];
        args.extend_from_slice(flags);
        self.start(dir, &args)
    }
}

/// A running server process.
#[derive(Debug)]
pub struct Server {
    /// The program it runs, for the operators' commands on its database.
    binary: ServerBinary,
    pub child: Child,
    pub base: String,
    /// The `/metrics` URL, where `--metrics-addr` was given.
    pub metrics: Option<String>,
    pub db: Db,
    pub agent: ureq::Agent,
}

/// A response: status, headers and the body as JSON (`Null` where it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a Failure envelope with this status and code, echoing `tracking_id` if given.
    pub fn assert_failure(&self, status: u16, message: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.body["status"], "Failure", "{}", self.text);
        assert_eq!(
            self.body["error"]["code"],
            status.to_string(),
            "{}",
            self.text
        );
        assert_eq!(self.body["error"]["message"], message, "{}", self.text);
        assert!(
            self.body["request_tracking_id"].is_string(),
            "{}",
            self.text
        );
    }

    pub fn error_messages(&self) -> Vec<&str> {
        self.body["error"]["errors"]
            .as_array()
            .map(|items| items.iter().filter_map(|i| i["message"].as_str()).collect())
            .unwrap_or_default()
    }
}

impl Server {
    /// Runs `contacts-server ARGS --db DB` (an operator's command) and
    /// returns its standard output, or its standard error if it failed.
    pub fn command(&self, args: &[&str]) -> Result<String, String> {
        let output = self
            .binary
            .command()
            .args(args)
            .arg("--db")
            .arg(self.db.arg())
            .output()
            .unwrap();
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let mut response = result.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            body,
        }
    }

    /// POSTs `body` with the sample's headers, `extra` overriding them
    /// (an empty value leaves a header out).
    pub fn post(&self, ezpay_id: &str, body: impl AsRef<[u8]>, extra: &[(&str, &str)]) -> Reply {
        let mut headers = vec![
            ("Accept", "application/json"),
            ("Authorization", SAMPLE_AUTH),
            ("ProfileId", " CAAG_302 (QA Environment)"),
            ("Content-Type", "application/json"),
        ];
        for (name, value) in extra {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name, value));
        }
        let mut request = self
            .agent
            .post(self.url(&format!("/api/v1/customers/{ezpay_id}/contacts")));
        for (name, value) in headers.into_iter().filter(|(_, v)| !v.is_empty()) {
            request = request.header(name, value);
        }
        Self::reply(request.send(body.as_ref()))
    }

    pub fn post_contacts(&self, ezpay_id: &str, tracking_id: &str, contacts: &Value) -> Reply {
        let body = json!({ "contacts": contacts }).to_string();
        self.post(ezpay_id, &body, &[("Request-Tracking-Id", tracking_id)])
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::reply(request.call())
    }

    pub fn get_contacts(&self, ezpay_id: &str) -> Reply {
        self.get(
            &format!("/api/v1/customers/{ezpay_id}/contacts"),
            &[("Authorization", SAMPLE_AUTH), ("ProfileId", "CAAG_302")],
        )
    }

    /// The text of `GET /metrics`.
    pub fn scrape(&self) -> String {
        let url = self.metrics.clone().expect("started with --metrics-addr");
        self.agent
            .get(&url)
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    }

    /// Sends SIGTERM and waits for the process to exit, at most 10 s.
    pub fn terminate(&mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM: {sent}");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running 10 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every row of every table, as text: equal snapshots mean nothing was written.
    pub fn snapshot(&self) -> String {
        self.db.snapshot()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that hands back every status as a reply and gives up
/// after 10 s: a connection pool of its own.
pub fn client() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    )
}

/// The folder `dir` made with `files` (name, text) in it.
pub fn folder(dir: PathBuf, files: &[(&str, &str)]) -> PathBuf {
    fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        fs::write(dir.join(name), text).unwrap();
    }
    dir
}

/// A configuration file: the development user and profile, `customers`, and
/// `extra` TOML (top-level keys first, then tables).
pub fn config_file(dir: &Path, customers: &[String], extra: &str) -> PathBuf {
    let hash = development_hash();
    let customers: String = customers
        .iter()
        .map(|id| format!("\"{id}\" = \"active\"\n"))
        .collect();
    let path = dir.join("contacts.toml");
    fs::write(
        &path,
        format!(
            "{extra}\n[users.ocsuser]\npassword_hash = \"{hash}\"\nprofiles = [\"CAAG_302\"]\n[profiles]\nCAAG_302 = \"CAAG\"\n[customers]\n{customers}"
        ),
    )
    .unwrap();
    path
}

/// The argon2 hash of the development password `ocsuser`.
pub fn development_hash() -> String {
    let development: toml::Table = include_str!("../../contacts-server/dev-config.toml")
        .parse()
        .unwrap();
    development["users"]["ocsuser"]["password_hash"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Reads one value from the Prometheus text: the sample whose line starts
/// with `name{` and holds every label given.
pub fn metric(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub fn development_customers() -> Vec<String> {
    [ACTIVE, INACTIVE, CANCELLED].map(str::to_owned).to_vec()
}

/// The first column of the first row of `sql` (with `?1` bound to `param`).
pub fn count(db: &Db, sql: &str, param: &str) -> i64 {
    db.count(sql, param)
}
