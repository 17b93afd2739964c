//! What a container platform and an operator rely on, over real HTTP against
//! the built binary: the probes (`/livez` without the database, `/readyz`
//! and `/healthz` with it) while the database is there, away and back; the
//! configuration from `CONTACTS_…` variables and `config check`; the JSON
//! log lines.

use std::process::Output;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use contacts_testkit::db::Db;
use contacts_testkit::harness::*;
use contacts_testkit::postgres::Cluster;

use crate::SERVER;

/// Polls `probe` until it answers `status`, for at most `within`.
fn wait_for_status(server: &Server, probe: &str, status: u16, within: Duration) -> Reply {
    let started = Instant::now();
    loop {
        let reply = server.get(probe, &[]);
        if reply.status == status || started.elapsed() > within {
            return reply;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_probes_answer_envelopes_without_credentials() {
    let scratch = Scratch::new();
    let server = SERVER.start_configured(&scratch.0, "", &[]);
    for probe in ["/livez", "/readyz", "/healthz"] {
        let reply = server.get(probe, &[("Request-Tracking-Id", "probe-1")]);
        assert_eq!(reply.status, 200, "{probe}: {}", reply.text);
        assert_eq!(reply.body["status"], "Success", "{probe}: {}", reply.text);
        assert_eq!(reply.body["request_tracking_id"], "probe-1", "{probe}");
    }
}

/// While PostgreSQL is stopped the process is alive but not ready; both are
/// 200 again once it is back, without a restart.
#[test]
fn livez_stays_up_and_readyz_follows_the_database() {
    let scratch = Scratch::new();
    let cluster = Cluster::start(false).unwrap();
    let db = Db::Postgres(cluster.create_database("contacts").unwrap());
    let config = config_file(&scratch.0, &development_customers(), "");
    let server = SERVER.start_on(
        db,
        &scratch.0,
        &["--no-relay", "--config", config.to_str().unwrap()],
        &[],
    );
    assert_eq!(server.get("/readyz", &[]).status, 200);

    cluster.stop().unwrap();
    let away = wait_for_status(&server, "/readyz", 503, Duration::from_secs(30));
    away.assert_failure(503, "Service Error");
    let live = server.get("/livez", &[]);
    assert_eq!(live.status, 200, "{}", live.text);
    server
        .get("/healthz", &[])
        .assert_failure(503, "Service Error");

    cluster.start_again().unwrap();
    let back = wait_for_status(&server, "/readyz", 200, Duration::from_secs(30));
    assert_eq!(back.status, 200, "{}", back.text);
    assert_eq!(server.get("/livez", &[]).status, 200);
    let health = wait_for_status(&server, "/healthz", 200, Duration::from_secs(5));
    assert_eq!(health.status, 200, "{}", health.text);
}

/// A customer only the configuration file names.
const FILE_CUSTOMER: &str = "000010000007777";

/// A configuration file of [`FILE_CUSTOMER`] and `extra` TOML.
fn file_config(scratch: &Scratch, extra: &str) -> std::path::PathBuf {
    config_file(&scratch.0, &[FILE_CUSTOMER.to_owned()], extra)
}

/// Runs `contacts-server config check` with `env` and `args` after it.
fn config_check(env: &[(&str, &str)], args: &[&str]) -> Output {
    SERVER
        .command()
        .args(["config", "check"])
        .args(args)
        .env_remove("CONTACTS_DB")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn the_environment_configures_the_server_and_json_logs_carry_the_tracking_id() {
    let scratch = Scratch::new();
    let config = file_config(&scratch, "");
    let server = SERVER.start_on(
        Db::for_dir(&scratch.0),
        &scratch.0,
        &[],
        &[
            ("CONTACTS_CONFIG", config.to_str().unwrap()),
            ("CONTACTS_LOG_FORMAT", "json"),
            ("CONTACTS_NO_RELAY", "true"),
        ],
    );
    // Only the file's customers exist: the file was read.
    let reply = server.get_contacts(FILE_CUSTOMER);
    assert_eq!(reply.status, 200, "{}", reply.text);
    let tracking_id = reply.body["request_tracking_id"].clone();
    let missing = server.get(
        "/api/v1/customers/000010000005008/contacts",
        &[("Authorization", SAMPLE_AUTH), ("ProfileId", "CAAG_302")],
    );
    assert_eq!(missing.status, 404, "{}", missing.text);
    drop(server);

    let log = std::fs::read_to_string(scratch.0.join("server.log")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(!lines.is_empty(), "no log lines");
    for line in &lines {
        assert!(line["timestamp"].is_string(), "{line}");
        assert!(line["level"].is_string(), "{line}");
        assert!(line["message"].is_string(), "{line}");
    }
    assert!(
        lines
            .iter()
            .any(|line| line["span"]["tracking_id"] == tracking_id),
        "no line of the request: {log}"
    );
}

#[test]
fn config_check_prints_the_effective_configuration_with_secrets_hidden() {
    let scratch = Scratch::new();
    let config = file_config(
        &scratch,
        "[targets.MAS]\nurl = \"https://mas.example.com/in?tenant=t-s3cret\"\nheaders = { Authorization = \"Bearer h-s3cret\" }\n",
    );
    let output = config_check(
        &[
            ("CONTACTS_CONFIG", config.to_str().unwrap()),
            ("CONTACTS_ADDR", "0.0.0.0:9000"),
            (
                "CONTACTS_DB",
                "postgres://contacts:p-s3cret@127.0.0.1/contacts",
            ),
            ("CONTACTS_METRICS_ADDR", "127.0.0.1:9100"),
            ("CONTACTS_LOG_FORMAT", "json"),
            (
                "CONTACTS_OTLP_ENDPOINT",
                "https://otel:o-s3cret@collector.example:4318",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"),
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    for expected in [
        "addr = 0.0.0.0:9000",
        "db = postgres://contacts:***@127.0.0.1/contacts",
        &format!("config = {}", config.display()),
        "metrics_addr = 127.0.0.1:9100",
        "log_format = json",
        "otlp_endpoint = https://otel:(hidden)@collector.example:4318/",
        "users (password hashes hidden) = ocsuser (CAAG_302)",
        "customers = 1",
        "target MAS = https://mas.example.com/in?tenant=%28hidden%29",
        "authorization: (hidden)",
    ] {
        assert!(stdout.contains(expected), "{expected}: {stdout}");
    }
    assert!(
        !stdout.contains("s3cret") && !stdout.contains("argon2"),
        "{stdout}"
    );

    // A flag wins over the environment.
    let output = config_check(
        &[("CONTACTS_LOG_FORMAT", "json")],
        &["--log-format", "text"],
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("log_format = text"));

    // OpenTelemetry's own variable, where no CONTACTS_OTLP_ENDPOINT is set.
    let output = config_check(
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")],
        &[],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("otlp_endpoint = http://127.0.0.1:4318/"),
        "{stdout}"
    );
    let output = config_check(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_ENDPOINT: not an http"),
        "{stderr}"
    );
}

#[test]
fn config_check_exits_non_zero_with_what_to_fix() {
    let scratch = Scratch::new();
    // config_file writes one path: each file is moved aside before the next.
    let zero = scratch.0.join("zero.toml");
    std::fs::rename(
        file_config(&scratch, "[limits]\nwrite_timeout_ms = 0\n"),
        &zero,
    )
    .unwrap();
    let relay_header = file_config(
        &scratch,
        "[targets.MDM]\nurl = \"https://mdm.example.com/in\"\nheaders = { Content-Type = \"text/plain\" }\n",
    );
    let missing = scratch.0.join("missing.toml");
    let cheap_hash = scratch.0.join("cheap-hash.toml");
    std::fs::write(
        &cheap_hash,
        "[users.agent1]\npassword_hash = \"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\"\nprofiles = [\"CAAG_302\"]\n[profiles]\nCAAG_302 = \"CAAG\"\n",
    )
    .unwrap();
    for (env, args, status, expected) in [
        (
            vec![("CONTACTS_CONFIG", zero.to_str().unwrap())],
            vec![],
            1,
            "write_timeout_ms must be at least 1 ms",
        ),
        (
            vec![("CONTACTS_CONFIG", cheap_hash.to_str().unwrap())],
            vec![],
            1,
            "user 'agent1' is argon2id with m=8,t=1,p=1",
        ),
        (
            vec![("CONTACTS_CONFIG", relay_header.to_str().unwrap())],
            vec![],
            1,
            "the relay sets 'Content-Type' itself",
        ),
        (
            vec![],
            vec!["--db", "host=db dbname=contacts password=p-s3cret"],
            2,
            "libpq connection string",
        ),
        (
            vec![("CONTACTS_CONFIG", missing.to_str().unwrap())],
            vec![],
            1,
            "cannot read the configuration",
        ),
        (
            vec![("CONTACTS_LOG_FORMAT", "xml")],
            vec![],
            2,
            "invalid value 'xml'",
        ),
        (
            vec![("CONTACTS_ADDR", "0.0.0.0:8080")],
            vec![],
            2,
            "development login",
        ),
        (
            vec![("CONTACTS_DB", "postgres://u:p-s3cret@h/db?bogus=1")],
            vec![],
            2,
            "not valid",
        ),
        (
            vec![],
            vec!["--static-dir", "/nonexistent"],
            1,
            "is not a file",
        ),
    ] {
        let output = config_check(&env, &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(status), "{expected}: {stderr}");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert!(!stderr.contains("s3cret"), "{stderr}");
        assert!(output.stdout.is_empty(), "{expected}");
    }
}
