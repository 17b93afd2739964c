//! Benchmark of `POST /api/v1/customers/{eZpayID}/contacts` and of the
//! delivery to the targets. Each phase starts the server in this process on
//! 127.0.0.1 with a fresh SQLite file, sends a bounded number of distinct
//! valid updates from 16 concurrent clients, and prints requests/s and the
//! p50/p99 latency:
//!
//! - relay idle: the targets have no URL (held), the relay sends nothing;
//! - relay busy: both targets are local receivers answering at once;
//! - a target never answers: MAS holds every request until its timeout.
//!
//! The idle and busy phases alternate for a few rounds (idle first, then busy
//! first), so that the load of a shared machine falls on both alike; the
//! ratio of their p99 is given per round and over every round's requests.
//! Then a server on an idle phase's database, with the receivers as
//! targets, delivers its backlog: deliveries per second. Run it optimised:
//! `cargo run --profile server -p contacts-server --example bench`.

// The receiver module is shared with the tests, where a failed setup step is
// a failed test.
#![allow(clippy::unwrap_used)]

#[path = "../tests/support/receiver.rs"]
#[allow(dead_code)]
mod receiver;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use contacts_server::Server;
use contacts_server::cli::Options;
use receiver::{Receiver, Reply};
use tokio::sync::oneshot;

const CLIENTS: usize = 16;
const REQUESTS: usize = 3_000;
/// Rounds of one idle and one busy phase.
const ROUNDS: usize = 3;
/// Each load stops early rather than run longer than this.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// The customers the updates are spread over: deliveries of one customer to
/// one target go one at a time, so their number bounds the relay's
/// parallelism as it would in service.
const CUSTOMERS: usize = 100;

fn main() -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("contacts-server-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = bench(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn bench(dir: &Path) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("no runtime: {e}"))?;
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let hanging = Receiver::start("MAS");
    hanging.otherwise(Reply::Hang);

    let idle = config(dir, "idle", None, None)?;
    let busy = config(dir, "busy", Some(&mas), Some(&mdm))?;
    let stuck = config(dir, "stuck", Some(&hanging), Some(&mdm))?;

    let delivered = || mas.applied() + mdm.applied();
    let mut all_idle = Vec::new();
    let mut all_busy = Vec::new();
    let mut ratios = Vec::new();
    let mut backlog_db = None;
    for round in 1..=ROUNDS {
        println!("\nround {round} of {ROUNDS}");
        let idle_db = dir.join(format!("idle-{round}.sqlite"));
        let idle_phase = || -> Result<Latencies, String> {
            let server = Running::start(&runtime, &idle_db, &idle)?;
            load(
                "relay idle (targets held)",
                &server.base,
                &format!("idle{round}"),
            )
        };
        let busy_phase = || -> Result<Latencies, String> {
            let server =
                Running::start(&runtime, &dir.join(format!("busy-{round}.sqlite")), &busy)?;
            let before = delivered();
            let started = Instant::now();
            let latencies = load(
                "relay busy (local receivers)",
                &server.base,
                &format!("busy{round}"),
            )?;
            let saving = started.elapsed();
            let while_saving = delivered() - before;
            let expected = 2 * latencies.ok;
            wait_for(|| delivered() - before >= expected)?;
            println!(
                "  deliveries while saving: {while_saving} in {:.1} s, {:.0} deliveries/s; all {expected} delivered {:.1} s after the first save",
                saving.as_secs_f64(),
                while_saving as f64 / saving.as_secs_f64(),
                started.elapsed().as_secs_f64()
            );
            Ok(latencies)
        };
        let (idle_run, busy_run) = if round % 2 == 1 {
            let idle_run = idle_phase()?;
            (idle_run, busy_phase()?)
        } else {
            let busy_run = busy_phase()?;
            (idle_phase()?, busy_run)
        };
        let ratio = busy_run.percentile(99).as_secs_f64() / idle_run.percentile(99).as_secs_f64();
        println!("  round {round}: p99 relay busy / relay idle: {ratio:.2}");
        ratios.push(ratio);
        all_idle.extend(idle_run.times);
        all_busy.extend(busy_run.times);
        backlog_db = Some(idle_db);
    }
    {
        let server = Running::start(&runtime, &dir.join("stuck.sqlite"), &stuck)?;
        load(
            "MAS never answers (1 s timeout), MDM a local receiver",
            &server.base,
            "stuck",
        )?;
    }
    let (all_idle, all_busy) = (Latencies::new(all_idle, 0), Latencies::new(all_busy, 0));
    ratios.sort_by(f64::total_cmp);
    println!(
        "\nover the {ROUNDS} rounds: relay idle p50 {:.2} ms, p99 {:.2} ms; relay busy p50 {:.2} ms, p99 {:.2} ms",
        ms(all_idle.percentile(50)),
        ms(all_idle.percentile(99)),
        ms(all_busy.percentile(50)),
        ms(all_busy.percentile(99)),
    );
    println!(
        "  p99 relay busy / relay idle: {:.2} over every request (per round: {})",
        all_busy.percentile(99).as_secs_f64() / all_idle.percentile(99).as_secs_f64(),
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // An idle phase's updates are all pending: a server that can reach the
    // targets now delivers the backlog.
    let backlog_db = backlog_db.ok_or("no idle phase ran")?;
    let before = delivered();
    let backlog = 2 * (REQUESTS + 1);
    let started = Instant::now();
    let server = Running::start(&runtime, &backlog_db, &busy)?;
    wait_for(|| delivered() >= before + backlog)?;
    let elapsed = started.elapsed();
    drop(server);
    println!(
        "\nbacklog delivered: {backlog} deliveries in {:.1} s, {:.0} deliveries/s to local receivers",
        elapsed.as_secs_f64(),
        backlog as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// Writes a configuration: the development user and profile, `CUSTOMERS`
/// customers, and the targets given (a target without a receiver is held).
fn config(
    dir: &Path,
    name: &str,
    mas: Option<&Receiver>,
    mdm: Option<&Receiver>,
) -> Result<PathBuf, String> {
    let development = include_str!("../dev-config.toml");
    let base = development
        .split("\n[targets.MAS]")
        .next()
        .ok_or("the development configuration has no targets")?;
    let mut text = format!("{base}\n");
    for i in 0..CUSTOMERS {
        text.push_str(&format!("\"{}\" = \"active\"\n", customer(i)));
    }
    for (target, receiver) in [("MAS", mas), ("MDM", mdm)] {
        if let Some(receiver) = receiver {
            text.push_str(&format!(
                "\n[targets.{target}]\nurl = \"{}\"\ntimeout_ms = 1000\n",
                receiver.url()
            ));
        }
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// A server serving in the background until dropped.
struct Running {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<Result<(), String>>>,
    runtime: tokio::runtime::Handle,
}

impl Running {
    fn start(runtime: &tokio::runtime::Runtime, db: &Path, config: &Path) -> Result<Self, String> {
        let options = Options {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            db: db.to_owned(),
            config: Some(config.to_owned()),
            ..Options::default()
        };
        let server = runtime.block_on(Server::bind(&options))?;
        let base = format!("http://{}", server.local_addr()?);
        let (stop, stopped) = oneshot::channel();
        let served = runtime.spawn(server.serve(async {
            let _ = stopped.await;
        }));
        Ok(Self {
            base,
            stop: Some(stop),
            served: Some(served),
            runtime: runtime.handle().clone(),
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = self.runtime.block_on(served);
        }
    }
}

fn wait_for(mut done: impl FnMut() -> bool) -> Result<(), String> {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > TIME_LIMIT {
            return Err("the deliveries did not all arrive in time".into());
        }
        thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// The latencies of one load's successful requests, sorted.
struct Latencies {
    times: Vec<Duration>,
    /// Successful requests, the warm-up included.
    ok: usize,
}

impl Latencies {
    fn new(mut times: Vec<Duration>, warm_up: usize) -> Self {
        times.sort();
        let ok = times.len() + warm_up;
        Self { times, ok }
    }

    fn percentile(&self, p: usize) -> Duration {
        let last = self.times.len().saturating_sub(1);
        self.times
            .get((self.times.len() * p / 100).min(last))
            .copied()
            .unwrap_or_default()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Sends `REQUESTS` distinct updates from `CLIENTS` clients and prints the figures.
fn load(phase: &str, base: &str, prefix: &str) -> Result<Latencies, String> {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    );
    // The first request pays the password hash once; it is not measured.
    post(&agent, base, &format!("{prefix}-warm-up"), 0)?;

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
                    match post(&agent, base, &format!("{prefix}-{i}"), i) {
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
    let latencies = Latencies::new(
        latencies
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
        1,
    );
    let failures = failures.into_inner();
    if latencies.times.is_empty() {
        return Err(format!("no request succeeded ({failures} failures)"));
    }
    println!(
        "POST contacts, {phase}: {} ok, {failures} failed, {CLIENTS} concurrent clients, {:.1} s",
        latencies.times.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "  throughput: {:.0} requests/s; latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.times.len() as f64 / elapsed.as_secs_f64(),
        ms(latencies.percentile(50)),
        ms(latencies.percentile(99)),
        ms(latencies.percentile(100))
    );
    Ok(latencies)
}

/// The eZpayID of customer `i`.
fn customer(i: usize) -> String {
    format!("{:015}", 30_000_000_000_000 + i)
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
            customer(i % CUSTOMERS)
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
