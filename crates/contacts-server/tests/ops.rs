//! What a container platform and an operator rely on, over real HTTP against
//! the built binary: the probes (`/livez` without the database, `/readyz`
//! and `/healthz` with it) while the database is there, away and back.

// The helpers below are test code too: a failed setup step is a failed test,
// and `clippy.toml`'s allowance covers only `#[test]` functions themselves.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::{Duration, Instant};

mod support;

use support::postgres::Cluster;
use support::*;

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
    let server = Server::start_configured(&scratch.0, "", &[]);
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
    let server = Server::start_on(
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
