//! Load: slow clients beside quick ones, a hundred agents saving at once,
//! the cap on open connections, and the shutdown's deadline.
//!
//! `CONTACTS_LOAD_SECS` sets how long the hundred agents save (default 10;
//! the hardening issue's full run is 30).

use std::collections::HashMap;
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use contacts_testkit::harness::*;
use serde_json::json;

use super::{CONTACTS_PATH, assert_message, host, parse_reply};
use crate::{SERVER, assert_none_failed, heavy};

/// A connection that has sent a POST's head and the first of its body's
/// 100 bytes, and then nothing more.
fn stalled_post(server: &Server) -> TcpStream {
    let mut stream = TcpStream::connect(host(server)).unwrap();
    stream
        .write_all(
            format!(
                "POST {CONTACTS_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: {SAMPLE_AUTH}\r\nProfileId: CAAG_302\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
            )
            .as_bytes(),
        )
        .unwrap();
    stream
}

/// Slow clients (slowloris: headers at one byte a second; a body that
/// trickles) neither stall the others nor hold their connection for long.
#[test]
fn slow_clients_do_not_stall_others() {
    let _heavy = heavy();
    const SLOW_CLIENTS: usize = 16;
    let scratch = Scratch::new();
    let server = SERVER.start_configured(
        &scratch.0,
        "[limits]\nheader_read_timeout_ms = 1500\nbody_read_timeout_ms = 1500",
        &[],
    );
    // The first request pays for the password check; the others find it cached.
    assert_eq!(server.get_contacts(ACTIVE).status, 200);
    let started = Instant::now();
    let slow: Vec<_> = (0..SLOW_CLIENTS)
        .map(|_| {
            let mut stream = TcpStream::connect(host(&server)).unwrap();
            thread::spawn(move || {
                stream
                    .set_read_timeout(Some(Duration::from_millis(10)))
                    .unwrap();
                let request = format!("GET {CONTACTS_PATH} HTTP/1.1\r\nHost: x\r\n");
                let opened = Instant::now();
                for byte in request.bytes() {
                    if opened.elapsed() > Duration::from_secs(4)
                        || stream.write_all(&[byte]).is_err()
                    {
                        break;
                    }
                    match stream.read(&mut [0u8; 512]) {
                        Ok(_) => return opened.elapsed(),
                        Err(e)
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                        Err(_) => return opened.elapsed(),
                    }
                    thread::sleep(Duration::from_secs(1));
                }
                Duration::MAX
            })
        })
        .collect();
    let slow_body = {
        let mut stream = stalled_post(&server);
        thread::spawn(move || {
            stream
                .set_read_timeout(Some(Duration::from_secs(4)))
                .unwrap();
            let mut bytes = Vec::new();
            let mut buffer = [0u8; 4096];
            while let Ok(read) = stream.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                bytes.extend_from_slice(&buffer[..read]);
                if bytes.windows(4).any(|w| w == b"\r\n\r\n") && bytes.ends_with(b"}") {
                    break;
                }
            }
            parse_reply(&bytes)
        })
    };

    let mut slowest = Duration::ZERO;
    let mut served = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let asked = Instant::now();
        let reply = server.get_contacts(ACTIVE);
        assert_eq!(reply.status, 200, "{}", reply.text);
        slowest = slowest.max(asked.elapsed());
        served += 1;
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        slowest < Duration::from_millis(500),
        "a request took {slowest:?}"
    );

    let held: Vec<Duration> = slow.into_iter().map(|h| h.join().unwrap()).collect();
    for time in &held {
        assert!(
            *time < Duration::from_secs(3),
            "a slow client held its connection {time:?}"
        );
    }
    let reply = slow_body.join().unwrap();
    reply.assert_failure(408, "Request Timeout");
    assert_message(&reply, "did not arrive in time", "slow body");
    println!(
        "slowloris: {SLOW_CLIENTS} slow clients closed after at most {:?}; {served} other requests, slowest {slowest:?}",
        held.iter().max().unwrap()
    );
}

/// 100 agents save 100 different customers at once for `CONTACTS_LOAD_SECS`:
/// every Success is stored exactly once with its audit and outbox rows, and
/// each customer ends with its agent's last acknowledged save.
#[test]
fn a_hundred_agents_lose_and_duplicate_nothing() {
    let _heavy = heavy();
    const AGENTS: usize = 100;
    let seconds: u64 = std::env::var("CONTACTS_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let scratch = Scratch::new();
    let customers: Vec<String> = (0..AGENTS)
        .map(|i| format!("{:015}", 20_000_000 + i))
        .collect();
    let config = config_file(&scratch.0, &customers, "");
    let server = SERVER.start(&scratch.0, &["--config", config.to_str().unwrap()]);
    // One request first, so that the 100 agents find the password check cached.
    assert_eq!(server.get_contacts(&customers[0]).status, 200);

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let failures = Mutex::new(Vec::new());
    let results: Vec<(Vec<String>, Vec<Duration>, Option<usize>)> = thread::scope(|scope| {
        let handles: Vec<_> = customers
            .iter()
            .enumerate()
            .map(|(agent, ezpay_id)| {
                let (server, failures) = (&server, &failures);
                scope.spawn(move || {
                    let mut acknowledged = Vec::new();
                    let mut latencies = Vec::new();
                    let mut last = None;
                    let mut save = 0;
                    while Instant::now() < deadline {
                        let id = format!("agent{agent}-{save}");
                        let contacts = json!([{ "type": "billing", "name": format!("Agent {agent} save {save}") }]);
                        let sent = Instant::now();
                        let reply = server.post_contacts(ezpay_id, &id, &contacts);
                        latencies.push(sent.elapsed());
                        if reply.status == 200 && reply.body["status"] == "Success" {
                            acknowledged.push(id);
                            last = Some(save);
                        } else {
                            failures.lock().unwrap().push(format!("{id}: {} {}", reply.status, reply.text));
                        }
                        save += 1;
                    }
                    (acknowledged, latencies, last)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_none_failed(failures);

    let acknowledged: Vec<&String> = results.iter().flat_map(|(ids, _, _)| ids).collect();
    let [requests, audit, outbox] =
        ["requests", "audit", "outbox"].map(|table| server.db.rows_per_tracking_id(table));
    let stored: HashMap<&String, (i64, i64, i64)> = requests
        .iter()
        .map(|(id, n)| {
            let rows = |table: &HashMap<String, i64>| table.get(id).copied().unwrap_or(0);
            (id, (*n, rows(&audit), rows(&outbox)))
        })
        .collect();
    let lost: Vec<&&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains_key(**id))
        .collect();
    let duplicated: Vec<(&&String, &(i64, i64, i64))> = stored
        .iter()
        .filter(|(_, counts)| **counts != (1, 1, 2))
        .collect();
    assert!(lost.is_empty(), "{} lost: {lost:?}", lost.len());
    assert!(duplicated.is_empty(), "{duplicated:?}");
    assert_eq!(
        stored.len(),
        acknowledged.len(),
        "requests stored that were never acknowledged"
    );
    let audit_rows = count(
        &server.db,
        "SELECT count(*) FROM audit WHERE action = 'update' AND ?1 = ?1",
        "",
    );
    assert_eq!(usize::try_from(audit_rows).unwrap(), acknowledged.len());

    for ((_, _, last), (agent, ezpay_id)) in results.iter().zip(customers.iter().enumerate()) {
        let last = last.expect("every agent saved at least once");
        let contacts = server.get_contacts(ezpay_id).body["contacts"].clone();
        assert_eq!(
            contacts,
            json!([{ "type": "billing", "name": format!("Agent {agent} save {last}") }])
        );
    }

    let mut latencies: Vec<Duration> = results
        .iter()
        .flat_map(|(_, l, _)| l.iter().copied())
        .collect();
    latencies.sort();
    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    println!(
        "100 agents for {seconds} s: {} saves acknowledged, 0 lost, 0 duplicated, {:.0} saves/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        acknowledged.len(),
        acknowledged.len() as f64 / seconds as f64,
        percentile(50).as_secs_f64() * 1000.0,
        percentile(99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0,
    );
}

/// At most `max_connections` connections are served at once; the next one
/// waits in the backlog until one closes.
#[test]
fn open_connections_are_capped() {
    let scratch = Scratch::new();
    let server = SERVER.start_configured(&scratch.0, "[limits]\nmax_connections = 2", &[]);
    let idle: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(host(&server)).unwrap())
        .collect();
    thread::sleep(Duration::from_millis(200));
    let mut third = TcpStream::connect(host(&server)).unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut buffer = [0u8; 64];
    let waited = third.read(&mut buffer);
    assert!(
        matches!(&waited, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "a third connection was served: {waited:?}"
    );
    drop(idle);
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut bytes = Vec::new();
    let _ = third.read_to_end(&mut bytes);
    assert!(
        bytes.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
}

/// A graceful shutdown waits for the requests in progress only until its
/// deadline: a body that trickles in does not keep the server alive.
#[test]
fn shutdown_has_a_deadline() {
    let scratch = Scratch::new();
    let mut server = SERVER.start_configured(
        &scratch.0,
        "[limits]\nshutdown_timeout_ms = 500\nbody_read_timeout_ms = 60000",
        &[],
    );
    let _stream = stalled_post(&server);
    thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "still running after the deadline"
        );
        thread::sleep(Duration::from_millis(20));
    }
    let log = fs::read_to_string(scratch.0.join("server.log")).unwrap();
    assert!(log.contains("at the shutdown deadline"), "{log}");
}

/// The same on PostgreSQL.
mod on_postgres {
    contacts_testkit::postgres_too!(a_hundred_agents_lose_and_duplicate_nothing,);
}
