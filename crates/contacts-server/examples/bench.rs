//! Benchmark of `POST /api/v1/customers/{eZpayID}/contacts`: starts the server
//! on 127.0.0.1 with a fresh SQLite file, sends a bounded number of distinct
//! valid updates from 16 concurrent clients, and prints requests/s and the
//! p50/p99 latency. Run it optimised:
//! `cargo run --profile server -p contacts-server --example bench`.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use contacts_server::Server;
use contacts_server::cli::Options;

const CLIENTS: usize = 16;
const REQUESTS: usize = 4_000;
/// The benchmark stops early rather than run longer than this.
const TIME_LIMIT: Duration = Duration::from_secs(60);
const CUSTOMERS: [&str; 3] = ["000010000005008", "000010000005009", "000010000005010"];

fn main() -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("contacts-server-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = bench(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn bench(dir: &std::path::Path) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("no runtime: {e}"))?;
    let options = Options {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        db: dir.join("bench.sqlite"),
        static_dir: None,
        config: None,
        ..Options::default()
    };
    let server = runtime.block_on(Server::bind(&options))?;
    let base = format!("http://{}", server.local_addr()?);
    runtime.spawn(server.serve(std::future::pending()));

    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    );
    // The first request pays the password hash once; it is not measured.
    post(&agent, &base, "warm-up", 0)?;

    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(REQUESTS));
    let failures = AtomicUsize::new(0);
    let started = Instant::now();
    thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= REQUESTS || started.elapsed() > TIME_LIMIT {
                        break;
                    }
                    let sent = Instant::now();
                    match post(&agent, &base, &format!("bench-{i}"), i) {
                        Ok(()) => latencies
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(sent.elapsed()),
                        Err(error) => {
                            if failures.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("first failure: {error}");
                            }
                        }
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let mut latencies = latencies
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    latencies.sort();
    let failures = failures.into_inner();
    if latencies.is_empty() {
        return Err(format!("no request succeeded ({failures} failures)"));
    }
    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "POST contacts: {} ok, {failures} failed, {CLIENTS} concurrent clients, {:.1} s",
        latencies.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "throughput: {:.0} requests/s",
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(50)),
        ms(percentile(99)),
        ms(latencies[latencies.len() - 1])
    );
    Ok(())
}

/// Sends one distinct, valid update and checks that it is a Success.
fn post(agent: &ureq::Agent, base: &str, tracking_id: &str, i: usize) -> Result<(), String> {
    let body = format!(
        r#"{{"contacts":[{{"type":"billing","name":"Bench {i}","email":"bench{i}@example.com","work_phone":"(914) 721-2006 x{ext}"}},{{"type":"service","name":"Bench {i}","mobile_phone":"914.721.2006"}}]}}"#,
        ext = i % 10_000
    );
    let mut response = agent
        .post(format!(
            "{base}/api/v1/customers/{}/contacts",
            CUSTOMERS[i % CUSTOMERS.len()]
        ))
        .header("Authorization", "Basic b2NzdXNlcjpvY3N1c2Vy")
        .header("ProfileId", "CAAG_302")
        .header("Content-Type", "application/json")
        .header("Request-Tracking-Id", tracking_id)
        .send(&body)
        .map_err(|e| format!("{tracking_id}: {e}"))?;
    let status = response.status();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{tracking_id}: {e}"))?;
    if status == 200 && text.contains("\"Success\"") {
        Ok(())
    } else {
        Err(format!("{tracking_id}: HTTP {status}: {text}"))
    }
}
