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
//! Then a server on the idle phase's database, with the receivers as
//! targets, delivers its backlog: deliveries per second.
//!
//! `--engine postgres` then compares the engines, the relay idle: SQLite
//! (one instance) and PostgreSQL (one and two instances on one database, in
//! this process, the clients spread over them), at 16 and 64 clients. The
//! PostgreSQL server is a throwaway one with `fsync` on, so that every
//! commit is durable as on SQLite.
//!
//! Run it optimised: `cargo run --profile server -p contacts-server
//! --example bench [-- --engine postgres]` (or `cargo xtask bench`).

// The receiver module is shared with the tests, where a failed setup step is
// a failed test.
#![allow(clippy::unwrap_used)]

#[path = "../tests/support/postgres.rs"]
mod postgres;
#[path = "../tests/support/receiver.rs"]
#[allow(dead_code)]
mod receiver;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use contacts_server::cli::Options;
use contacts_server::{Database, Server};
use receiver::{Receiver, Reply};
use tokio::sync::oneshot;

const CLIENTS: usize = 16;
const REQUESTS: usize = 4_000;
/// Each load stops early rather than run longer than this.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// The customers the updates are spread over: deliveries of one customer to
/// one target go one at a time, so their number bounds the relay's
/// parallelism as it would in service.
const CUSTOMERS: usize = 100;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let postgres = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] | ["--engine", "sqlite"] => false,
        ["--engine", "postgres"] => true,
        _ => return Err("usage: bench [--engine sqlite|postgres]".into()),
    };
    let dir = std::env::temp_dir().join(format!("contacts-server-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = bench(&dir).and_then(|()| if postgres { engines(&dir) } else { Ok(()) });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn bench(dir: &Path) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("no runtime: {e}"))?;
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let hanging = Receiver::start("MAS");
    hanging.otherwise(Reply::Hang);

    let idle_db = dir.join("idle.sqlite");
    let idle = config(dir, "idle", None, None)?;
    let busy = config(dir, "busy", Some(&mas), Some(&mdm))?;
    let stuck = config(dir, "stuck", Some(&hanging), Some(&mdm))?;

    let idle_figures = {
        let server = Running::start(&runtime, &idle_db, &idle)?;
        load("relay idle (targets held)", &server.base, "idle")?
    };
    let busy_figures = {
        let server = Running::start(&runtime, &dir.join("busy.sqlite"), &busy)?;
        let started = Instant::now();
        let figures = load("relay busy (local receivers)", &server.base, "busy")?;
        let expected = 2 * figures.ok;
        wait_for(|| mas.applied() + mdm.applied() >= expected)?;
        println!(
            "  deliveries while saving: {expected} in {:.1} s, {:.0} deliveries/s",
            started.elapsed().as_secs_f64(),
            expected as f64 / started.elapsed().as_secs_f64()
        );
        figures
    };
    {
        let server = Running::start(&runtime, &dir.join("stuck.sqlite"), &stuck)?;
        load(
            "MAS never answers (1 s timeout), MDM a local receiver",
            &server.base,
            "stuck",
        )?;
    }
    println!(
        "  p99 relay busy / relay idle: {:.2}",
        busy_figures.p99.as_secs_f64() / idle_figures.p99.as_secs_f64()
    );

    // The idle phase's updates are all pending: a server that can reach
    // the targets now delivers the backlog.
    let before = mas.applied() + mdm.applied();
    let backlog = 2 * idle_figures.ok;
    let started = Instant::now();
    let server = Running::start(&runtime, &idle_db, &busy)?;
    wait_for(|| mas.applied() + mdm.applied() >= before + backlog)?;
    let elapsed = started.elapsed();
    drop(server);
    println!(
        "\nbacklog delivered: {backlog} deliveries in {:.1} s, {:.0} deliveries/s to local receivers",
        elapsed.as_secs_f64(),
        backlog as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// The engines side by side, the relay idle: SQLite with one instance,
/// PostgreSQL with one and two, each at 16 and 64 clients.
fn engines(dir: &Path) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("no runtime: {e}"))?;
    let idle = config(dir, "engines", None, None)?;
    let cluster = postgres::Cluster::start(true)?;
    let mut rows = Vec::new();
    for clients in [16, 64] {
        let name = format!("sqlite-{clients}");
        let db = Database::Sqlite(dir.join(format!("{name}.sqlite")));
        let server = Running::start_on(&runtime, db, &idle)?;
        let phase = format!("SQLite, 1 instance, {clients} clients");
        let figures = load_over(&phase, &[&server.base], clients, &name)?;
        rows.push((phase, figures));
    }
    for instances in [1, 2] {
        for clients in [16, 64] {
            let name = format!("postgres_{instances}_{clients}");
            let db = Database::Postgres(cluster.create_database(&name)?);
            let servers = (0..instances)
                .map(|_| Running::start_on(&runtime, db.clone(), &idle))
                .collect::<Result<Vec<_>, _>>()?;
            let bases: Vec<&str> = servers.iter().map(|s| s.base.as_str()).collect();
            let phase = format!(
                "PostgreSQL, {instances} instance{}, {clients} clients",
                if instances == 1 { "" } else { "s" }
            );
            let figures = load_over(&phase, &bases, clients, &name)?;
            rows.push((phase, figures));
        }
    }
    println!("\nengines, relay idle ({REQUESTS} saves each, every commit durable):");
    for (phase, figures) in &rows {
        println!(
            "  {phase:<36} {:>6.0} requests/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
            figures.rate,
            figures.p50.as_secs_f64() * 1000.0,
            figures.p99.as_secs_f64() * 1000.0
        );
    }
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
        Self::start_on(runtime, Database::Sqlite(db.to_owned()), config)
    }

    fn start_on(
        runtime: &tokio::runtime::Runtime,
        db: Database,
        config: &Path,
    ) -> Result<Self, String> {
        let options = Options {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            db,
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

struct Figures {
    ok: usize,
    rate: f64,
    p50: Duration,
    p99: Duration,
}

/// Sends `REQUESTS` distinct updates from `CLIENTS` clients and prints the figures.
fn load(phase: &str, base: &str, prefix: &str) -> Result<Figures, String> {
    load_over(phase, &[base], CLIENTS, prefix)
}

/// Sends `REQUESTS` distinct updates from `clients` clients spread over the
/// servers at `bases`, and prints the figures.
fn load_over(phase: &str, bases: &[&str], clients: usize, prefix: &str) -> Result<Figures, String> {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    );
    // The first request pays the password hash once; it is not measured.
    for (n, base) in bases.iter().enumerate() {
        post(&agent, base, &format!("{prefix}-warm-up-{n}"), 0)?;
    }

    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(REQUESTS));
    let failures = AtomicUsize::new(0);
    let started = Instant::now();
    thread::scope(|scope| {
        for client in 0..clients {
            let base = bases[client % bases.len()];
            let (next, latencies, failures, agent) = (&next, &latencies, &failures, &agent);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= REQUESTS || started.elapsed() > TIME_LIMIT {
                        break;
                    }
                    let sent = Instant::now();
                    match post(agent, base, &format!("{prefix}-{i}"), i) {
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
        "\nPOST contacts, {phase}: {} ok, {failures} failed, {clients} concurrent clients, {:.1} s",
        latencies.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "  throughput: {:.0} requests/s; latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        ms(percentile(50)),
        ms(percentile(99)),
        ms(latencies[latencies.len() - 1])
    );
    Ok(Figures {
        ok: latencies.len() + bases.len(),
        rate: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(50),
        p99: percentile(99),
    })
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
