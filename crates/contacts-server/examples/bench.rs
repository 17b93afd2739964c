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
//! The three phases take turns for a few rounds, each round starting with
//! another, so that the load of a shared machine falls on all alike; the
//! ratios of their p99 to the idle one are given per round and over every
//! round's requests.
//! Then a server on an idle phase's database, with the receivers as
//! targets, delivers its backlog: deliveries per second.
//!
//! Then a flood of wrong passwords (32 clients, 300 requests/s for 10 s,
//! each from its own address behind a trusted proxy, guessing the agents'
//! own names) runs while 4 agents, signed in before, save every 50 ms: the
//! agents' p50/p99 beside the same agents without the flood, and what the
//! flood got (401, then 429 once each name's allowance is spent).
//! Last, a freshly started server (the development login, `/metrics` on):
//! 16 connections of `ocsuser` with the right password for 5 s, each its
//! own client, while 4 others guess passwords of `ocsuser`: the agents'
//! 429s (none expected) and the argon2 checks they cost (one expected),
//! and the guesses' answers.
//!
//! `--engine postgres` then compares the engines, the relay idle: SQLite
//! (one instance) and PostgreSQL (one and two instances on one database, in
//! this process, the clients spread over them), at 16 and 64 clients with
//! the default pool of 4 connections, and one PostgreSQL instance at 16
//! clients with pools of 8 and 16 too; the variants take turns for a few rounds, like the phases
//! above. The PostgreSQL server is a throwaway one in the temporary
//! directory (on disk on these machines: /tmp is no tmpfs), `fsync` on, its
//! defaults otherwise: every commit is durable as on SQLite.
//! `--engines-only` skips the relay's phases and the login flood.
//!
//! `--server PATH` adds the delivery figures of `bench/delivery.rs` (saves
//! with the targets up, down and not configured; the targets down for a
//! minute; delivery latency at 100 and 500 saves/s on each engine set-up)
//! for the server binary at PATH, and `--baseline PATH` beside it, the two
//! taking turns; `--deliveries-only` skips the rest.
//!
//! Run it optimised: `cargo run --profile server -p contacts-server
//! --example bench [-- --engine postgres [--engines-only]] [--server PATH
//! [--baseline PATH] [--deliveries-only]]` (or `cargo xtask bench`).

#[path = "bench/delivery.rs"]
mod delivery;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use contacts_server::cli::Options;
use contacts_server::{Database, Server};
use contacts_testkit::postgres::Cluster;
use contacts_testkit::receiver::{Receiver, Reply};
use tokio::sync::oneshot;

const CLIENTS: usize = 16;
const REQUESTS: usize = 3_000;
/// Rounds of the three phases.
const ROUNDS: usize = 3;
/// Each load stops early rather than run longer than this.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// The customers the updates are spread over: deliveries of one customer to
/// one target go one at a time, so their number bounds the relay's
/// parallelism as it would in service.
const CUSTOMERS: usize = 100;

const USAGE: &str = "usage: bench [--engine sqlite|postgres [--engines-only]] [--server PATH [--baseline PATH] [--deliveries-only]]";

fn main() -> Result<(), String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // The delivery figures' binaries: `--server PATH` ("this build") and
    // `--baseline PATH`, taken out of the arguments.
    let mut builds = Vec::new();
    for (flag, name) in [("--server", "this"), ("--baseline", "baseline")] {
        if let Some(at) = args.iter().position(|arg| arg == flag) {
            let binary = args.get(at + 1).ok_or(USAGE)?.into();
            builds.push(delivery::Build { name, binary });
            args.drain(at..at + 2);
        }
    }
    let deliveries_only = args.iter().any(|arg| arg == "--deliveries-only");
    args.retain(|arg| arg != "--deliveries-only");
    let (relay, postgres) = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        _ if deliveries_only => (false, false),
        [] | ["--engine", "sqlite"] => (true, false),
        ["--engine", "postgres"] => (true, true),
        ["--engine", "postgres", "--engines-only"] => (false, true),
        _ => return Err(USAGE.into()),
    };
    let dir = std::env::temp_dir().join(format!("contacts-server-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = if relay {
        bench(&dir).and_then(|()| login_flood(&dir))
    } else {
        Ok(())
    }
    .and_then(|()| if postgres { engines(&dir) } else { Ok(()) })
    .and_then(|()| {
        if builds.is_empty() {
            Ok(())
        } else {
            delivery::run(&dir, &builds)
        }
    })
    // Last, since it installs the process's metrics recorder, which would
    // then record the in-process servers of every later phase.
    .and_then(|()| if relay { fresh_sign_ins(&dir) } else { Ok(()) });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn bench(dir: &Path) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("no runtime: {e}"))?;
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let hanging = Receiver::start("MAS");
    hanging.otherwise(Reply::Hang);
    let mut backlog_db = None;

    let idle = config(dir, "idle", None, None, None)?;
    let busy = config(dir, "busy", Some(&mas), Some(&mdm), None)?;
    let stuck = config(dir, "stuck", Some(&hanging), Some(&mdm), None)?;

    let delivered = || mas.applied() + mdm.applied();
    let phases = [
        ("relay idle (targets held)", "idle", &idle),
        ("relay busy (local receivers)", "busy", &busy),
        (
            "MAS never answers (1 s timeout), MDM a local receiver",
            "stuck",
            &stuck,
        ),
    ];
    // Per phase: every round's latencies, and each round's p99.
    let mut pooled: [Vec<Duration>; 3] = Default::default();
    let mut p99s: [Vec<Duration>; 3] = Default::default();
    for round in 0..ROUNDS {
        println!("\nround {} of {ROUNDS}", round + 1);
        // Each round starts with another phase.
        for phase in (0..phases.len()).map(|k| (k + round) % phases.len()) {
            let (title, name, config) = phases[phase];
            let db = dir.join(format!("{name}-{round}.sqlite"));
            let server = Running::start(&runtime, &db, config)?;
            let before = (delivered(), hanging.received().len());
            let started = Instant::now();
            let latencies = load(title, &server.base, &format!("{name}{round}"))?;
            let saving = started.elapsed().as_secs_f64();
            let while_saving = delivered() - before.0;
            match name {
                "busy" => {
                    let expected = 2 * latencies.ok;
                    wait_for(|| delivered() - before.0 >= expected)?;
                    println!(
                        "  deliveries while saving: {while_saving} in {saving:.1} s, {:.0} deliveries/s; all {expected} delivered {:.1} s after the first save",
                        while_saving as f64 / saving,
                        started.elapsed().as_secs_f64()
                    );
                }
                "stuck" => println!(
                    "  while saving: {while_saving} deliveries to MDM, {:.0}/s; {} attempts to MAS, each ended by its timeout",
                    while_saving as f64 / saving,
                    hanging.received().len() - before.1
                ),
                _ => {}
            }
            drop(server);
            p99s[phase].push(latencies.percentile(99));
            pooled[phase].extend(latencies.times);
            if name == "idle" {
                backlog_db = Some(db);
            }
        }
    }
    let pooled = pooled.map(|times| Latencies::new(times, 0));
    println!("\nover the {ROUNDS} rounds:");
    for ((title, _, _), latencies) in phases.iter().zip(&pooled) {
        println!(
            "  {title}: p50 {:.2} ms, p99 {:.2} ms",
            ms(latencies.percentile(50)),
            ms(latencies.percentile(99))
        );
    }
    for (phase, title) in [(1, "relay busy"), (2, "MAS never answers")] {
        let per_round: Vec<String> = p99s[phase]
            .iter()
            .zip(&p99s[0])
            .map(|(p99, idle)| format!("{:.2}", p99.as_secs_f64() / idle.as_secs_f64()))
            .collect();
        println!(
            "  p99 {title} / relay idle: {:.2} over every request (per round: {})",
            pooled[phase].percentile(99).as_secs_f64() / pooled[0].percentile(99).as_secs_f64(),
            per_round.join(", ")
        );
    }

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
    pool: Option<usize>,
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
    if let Some(size) = pool {
        text.push_str(&format!("\n[database]\npool_size = {size}\n"));
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// A server serving in the background until dropped.
struct Running {
    base: String,
    /// The address of `GET /metrics`, where the options asked for it.
    metrics: Option<SocketAddr>,
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
            db,
            config: Some(config.to_owned()),
            ..Options::default()
        };
        Self::start_with(runtime, options)
    }

    /// Starts a server with `options` on a free port of 127.0.0.1.
    fn start_with(runtime: &tokio::runtime::Runtime, options: Options) -> Result<Self, String> {
        let options = Options {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..options
        };
        let server = runtime.block_on(Server::bind(&options))?;
        let base = format!("http://{}", server.local_addr()?);
        let metrics = server.metrics_addr()?;
        let (stop, stopped) = oneshot::channel();
        let served = runtime.spawn(server.serve(async {
            let _ = stopped.await;
        }));
        Ok(Self {
            base,
            metrics,
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
    load_over(phase, &[base], CLIENTS, prefix).map(|(latencies, _)| latencies)
}

/// Sends `REQUESTS` distinct updates from `clients` clients spread over the
/// servers at `bases`, and prints the figures; returns the latencies and
/// the successful requests per second.
fn load_over(
    phase: &str,
    bases: &[&str],
    clients: usize,
    prefix: &str,
) -> Result<(Latencies, f64), String> {
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
                        Ok(_) => latencies
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
        bases.len(),
    );
    let rate = latencies.times.len() as f64 / elapsed.as_secs_f64();
    let failures = failures.into_inner();
    if latencies.times.is_empty() {
        return Err(format!("no request succeeded ({failures} failures)"));
    }
    println!(
        "POST contacts, {phase}: {} ok, {failures} failed, {clients} concurrent clients, {:.1} s",
        latencies.times.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "  throughput: {:.0} requests/s; latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        rate,
        ms(latencies.percentile(50)),
        ms(latencies.percentile(99)),
        ms(latencies.percentile(100))
    );
    Ok((latencies, rate))
}

/// One row of the engines' table.
struct Variant {
    engine: &'static str,
    instances: usize,
    clients: usize,
    /// PostgreSQL: connections per instance.
    pool: Option<usize>,
}

impl Variant {
    fn title(&self) -> String {
        let pool = self
            .pool
            .map(|size| format!(", pool {size}"))
            .unwrap_or_default();
        format!(
            "{}, {} instance{}, {} clients{pool}",
            self.engine,
            self.instances,
            if self.instances == 1 { "" } else { "s" },
            self.clients
        )
    }
}

/// The engines side by side, the relay idle: SQLite with one instance,
/// PostgreSQL with one and two, each at 16 and 64 clients with the default
/// pool, and one instance at 16 clients with larger pools. The variants take turns for a few
/// rounds, each round starting with another, so that the load of a shared
/// machine falls on all alike; the figures are over every round's requests.
fn engines(dir: &Path) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("no runtime: {e}"))?;
    let cluster = Cluster::start(true)?;
    let variant = |engine, instances, clients, pool| Variant {
        engine,
        instances,
        clients,
        pool,
    };
    let variants = [
        variant("SQLite", 1, 16, None),
        variant("PostgreSQL", 1, 16, Some(4)),
        variant("PostgreSQL", 1, 16, Some(8)),
        variant("PostgreSQL", 1, 16, Some(16)),
        variant("SQLite", 1, 64, None),
        variant("PostgreSQL", 1, 64, Some(4)),
        variant("PostgreSQL", 2, 16, Some(4)),
        variant("PostgreSQL", 2, 64, Some(4)),
    ];
    let mut pooled: Vec<(Vec<Duration>, usize, Duration)> = variants
        .iter()
        .map(|_| (Vec::new(), 0, Duration::ZERO))
        .collect();
    let mut p99s: Vec<Vec<Duration>> = variants.iter().map(|_| Vec::new()).collect();
    for round in 0..ROUNDS {
        println!("\nengines, round {} of {ROUNDS}", round + 1);
        for k in (0..variants.len()).map(|k| (k + round * 3) % variants.len()) {
            let v = &variants[k];
            let name = format!("e{round}_{k}");
            let config = config(dir, &name, None, None, v.pool)?;
            let db = match v.engine {
                "SQLite" => Database::Sqlite(dir.join(format!("{name}.sqlite"))),
                _ => Database::Postgres(cluster.create_database(&name)?),
            };
            let servers = (0..v.instances)
                .map(|_| Running::start_on(&runtime, db.clone(), &config))
                .collect::<Result<Vec<_>, _>>()?;
            let bases: Vec<&str> = servers.iter().map(|s| s.base.as_str()).collect();
            let started = Instant::now();
            let (latencies, _) = load_over(&v.title(), &bases, v.clients, &name)?;
            let elapsed = started.elapsed();
            p99s[k].push(latencies.percentile(99));
            pooled[k].1 += latencies.times.len();
            pooled[k].2 += elapsed;
            pooled[k].0.extend(latencies.times);
        }
    }
    println!(
        "\nengines, relay idle ({REQUESTS} saves per variant and round, {ROUNDS} rounds, every commit durable):"
    );
    for (v, ((times, ok, elapsed), p99s)) in variants.iter().zip(pooled.into_iter().zip(p99s)) {
        let latencies = Latencies::new(times, 0);
        let rounds: Vec<String> = p99s.iter().map(|d| format!("{:.1}", ms(*d))).collect();
        println!(
            "  {:<44} {:>6.0} requests/s  p50 {:>6.2} ms  p99 {:>6.2} ms  (p99 per round: {})",
            v.title(),
            ok as f64 / elapsed.as_secs_f64(),
            ms(latencies.percentile(50)),
            ms(latencies.percentile(99)),
            rounds.join(", ")
        );
    }
    Ok(())
}

/// The eZpayID of customer `i`.
fn customer(i: usize) -> String {
    format!("{:015}", 30_000_000_000_000 + i)
}

/// Sends one distinct, valid update as the development user and checks that
/// it is a Success; returns the version it brought the contacts to.
fn post(agent: &ureq::Agent, base: &str, tracking_id: &str, i: usize) -> Result<u64, String> {
    post_as(agent, base, "Basic b2NzdXNlcjpvY3N1c2Vy", tracking_id, i)
}

/// Sends one distinct, valid update with `authorization` and checks that it
/// is a Success; returns the version it brought the contacts to (its `ETag`).
fn post_as(
    agent: &ureq::Agent,
    base: &str,
    authorization: &str,
    tracking_id: &str,
    i: usize,
) -> Result<u64, String> {
    let body = format!(
        r#"{{"contacts":[{{"type":"billing","name":"Bench {i}","email":"bench{i}@example.com","work_phone":"(914) 721-2006 x{ext}"}},{{"type":"service","name":"Bench {i}","mobile_phone":"914.721.2006"}}]}}"#,
        ext = i % 10_000
    );
    let mut response = agent
        .post(format!(
            "{base}/api/v1/customers/{}/contacts",
            customer(i % CUSTOMERS)
        ))
        .header("Authorization", authorization)
        .header("ProfileId", "CAAG_302")
        .header("Content-Type", "application/json")
        .header("Request-Tracking-Id", tracking_id)
        .send(&body)
        .map_err(|e| format!("{tracking_id}: {e}"))?;
    let status = response.status();
    let version = response
        .headers()
        .get("etag")
        .and_then(|tag| tag.to_str().ok()?.trim_matches('"').parse().ok());
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{tracking_id}: {e}"))?;
    if let (200, true, Some(version)) = (status.as_u16(), text.contains("\"Success\""), version) {
        Ok(version)
    } else {
        Err(format!("{tracking_id}: HTTP {status}: {text}"))
    }
}

/// The agents who save during the login flood, and the flooders.
const AGENTS: usize = 4;
const FLOODERS: usize = 32;
const FLOOD_RATE: u32 = 300;
const FLOOD_TIME: Duration = Duration::from_secs(10);

/// Agents save while wrong passwords for their names pour in: their latency
/// without and with the flood, and the flood's answers.
fn login_flood(dir: &Path) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("no runtime: {e}"))?;
    let development: toml::Table = include_str!("../dev-config.toml")
        .parse()
        .map_err(|e| format!("the development configuration: {e}"))?;
    let hash = development["users"]["ocsuser"]["password_hash"]
        .as_str()
        .ok_or("the development configuration has no ocsuser")?;
    let mut text = String::from("[profiles]\nCAAG_302 = \"CAAG\"\n[customers]\n");
    for i in 0..AGENTS {
        text.push_str(&format!("\"{}\" = \"active\"\n", customer(i)));
    }
    for n in 0..AGENTS {
        text.push_str(&format!(
            "[users.agent{n}]\npassword_hash = \"{hash}\"\nprofiles = [\"CAAG_302\"]\n"
        ));
    }
    let config = dir.join("flood.toml");
    std::fs::write(&config, text).map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    );
    let auth: Vec<String> = (0..AGENTS)
        .map(|n| basic(&format!("agent{n}"), "ocsuser"))
        .collect();

    println!(
        "\nlogin flood: {FLOODERS} clients, {FLOOD_RATE} wrong passwords/s for {} s, while {AGENTS} agents save every 50 ms",
        FLOOD_TIME.as_secs()
    );
    for flooded in [false, true] {
        let db = Database::Sqlite(dir.join(format!("flood-{flooded}.sqlite")));
        let server = Running::start_with(
            &runtime,
            Options {
                db,
                config: Some(config.clone()),
                trust_forwarded_for: true,
                ..Options::default()
            },
        )?;
        let base = server.base.as_str();
        // Each agent signs in before the flood, as agents at work have.
        for (n, auth) in auth.iter().enumerate() {
            post_as(&agent, base, auth, &format!("sign-in-{flooded}-{n}"), n)?;
        }
        let started = Instant::now();
        let deadline = started + FLOOD_TIME;
        let (flood, saves) = thread::scope(|scope| {
            let flooders: Vec<_> = (0..if flooded { FLOODERS } else { 0 })
                .map(|client| {
                    let agent = &agent;
                    scope.spawn(move || {
                        let interval = Duration::from_secs(1) * FLOODERS as u32 / FLOOD_RATE;
                        let mut next = started + interval * client as u32 / FLOODERS as u32;
                        let mut statuses = Vec::new();
                        let guess = basic(
                            &format!("agent{}", client % AGENTS),
                            &format!("guess{client}"),
                        );
                        while next < deadline {
                            thread::sleep(next.saturating_duration_since(Instant::now()));
                            let status = agent
                                .get(format!("{base}/api/v1/customers/{}/contacts", customer(0)))
                                .header("Authorization", &guess)
                                .header("ProfileId", "CAAG_302")
                                .header("X-Forwarded-For", format!("10.9.0.{client}"))
                                .call()
                                .map_or(0, |response| response.status().as_u16());
                            statuses.push(status);
                            next += interval;
                        }
                        statuses
                    })
                })
                .collect();
            let agents: Vec<_> = auth
                .iter()
                .enumerate()
                .map(|(n, auth)| {
                    let agent = &agent;
                    scope.spawn(move || {
                        let mut saves = Vec::new();
                        let mut i = 0;
                        while Instant::now() < deadline {
                            let sent = Instant::now();
                            let tracking_id = format!("agent{n}-{flooded}-{i}");
                            let saved = post_as(agent, base, auth, &tracking_id, n);
                            saves.push(saved.map(|_| sent.elapsed()));
                            i += 1;
                            thread::sleep(Duration::from_millis(50));
                        }
                        saves
                    })
                })
                .collect();
            (
                flooders
                    .into_iter()
                    .flat_map(|handle| handle.join().expect("a flooder panicked"))
                    .collect::<Vec<u16>>(),
                agents
                    .into_iter()
                    .flat_map(|handle| handle.join().expect("an agent panicked"))
                    .collect::<Vec<_>>(),
            )
        });
        let failed = saves.iter().filter(|save| save.is_err()).count();
        let latencies = Latencies::new(saves.into_iter().filter_map(Result::ok).collect(), 0);
        let count = |status: u16| flood.iter().filter(|s| **s == status).count();
        println!(
            "  {}: {} saves ok, {failed} failed; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            if flooded {
                "with the flood"
            } else {
                "without a flood"
            },
            latencies.times.len(),
            ms(latencies.percentile(50)),
            ms(latencies.percentile(99)),
            ms(latencies.percentile(100)),
        );
        if flooded {
            println!(
                "  the flood: {} requests ({:.0}/s): {} × 401, {} × 429, {} × 503, {} other",
                flood.len(),
                flood.len() as f64 / FLOOD_TIME.as_secs_f64(),
                count(401),
                count(429),
                count(503),
                flood.len() - count(401) - count(429) - count(503),
            );
        }
    }
    Ok(())
}

/// A Basic `Authorization` value.
fn basic(user: &str, password: &str) -> String {
    use base64ct::{Base64, Encoding};
    format!(
        "Basic {}",
        Base64::encode_string(format!("{user}:{password}").as_bytes())
    )
}

/// The agents' connections, the guessers' and how long the fresh sign-ins run.
const SIGN_IN_AGENTS: usize = 16;
const SIGN_IN_GUESSERS: usize = 4;
const SIGN_IN_TIME: Duration = Duration::from_secs(5);

/// A freshly started server: 16 connections of `ocsuser` with the right
/// password while 4 guess: how many of each got 429, and how many argon2
/// checks the agents cost (from `contacts_password_checks_total`, less one
/// per guess checked: each guess is a new password).
fn fresh_sign_ins(dir: &Path) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("no runtime: {e}"))?;
    let server = Running::start_with(
        &runtime,
        Options {
            db: Database::Sqlite(dir.join("fresh-sign-ins.sqlite")),
            metrics_addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ..Options::default()
        },
    )?;
    let url = format!("{}/api/v1/customers/000010000005008/contacts", server.base);
    let start = std::sync::Barrier::new(SIGN_IN_AGENTS + SIGN_IN_GUESSERS);
    let deadline = Instant::now() + SIGN_IN_TIME;
    let run = |password: &dyn Fn(usize) -> String| {
        let client = contacts_testkit::harness::client();
        start.wait();
        let mut statuses: Vec<u16> = Vec::new();
        while Instant::now() < deadline {
            let status = client
                .get(&url)
                .header("Authorization", basic("ocsuser", &password(statuses.len())))
                .header("ProfileId", "CAAG_302")
                .call()
                .map_or(0, |response| response.status().as_u16());
            statuses.push(status);
        }
        statuses
    };
    let (agents, guesses) = thread::scope(|scope| {
        let run = &run;
        let agents: Vec<_> = (0..SIGN_IN_AGENTS)
            .map(|_| scope.spawn(move || run(&|_| "ocsuser".to_owned())))
            .collect();
        let guessers: Vec<_> = (0..SIGN_IN_GUESSERS)
            .map(|g| scope.spawn(move || run(&|n| format!("guess-{g}-{n}"))))
            .collect();
        let join = |handles: Vec<thread::ScopedJoinHandle<'_, Vec<u16>>>| -> Vec<u16> {
            handles
                .into_iter()
                .flat_map(|handle| handle.join().expect("a client panicked"))
                .collect()
        };
        (join(agents), join(guessers))
    });
    let metrics_url = format!("http://{}/metrics", server.metrics.ok_or("no /metrics")?);
    let metrics = ureq::get(&metrics_url)
        .call()
        .and_then(|mut response| response.body_mut().read_to_string())
        .map_err(|e| format!("{metrics_url}: {e}"))?;
    let checks: usize = metrics
        .lines()
        .find_map(|line| line.strip_prefix("contacts_password_checks_total "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .ok_or("no contacts_password_checks_total in /metrics")? as usize;
    let count = |statuses: &[u16], status: u16| statuses.iter().filter(|s| **s == status).count();
    let other = |statuses: &[u16]| {
        statuses.len()
            - [200, 401, 429, 503]
                .map(|s| count(statuses, s))
                .iter()
                .sum::<usize>()
    };
    println!(
        "\nfresh server: {SIGN_IN_AGENTS} connections of ocsuser with the right password for {} s, while {SIGN_IN_GUESSERS} guess its password",
        SIGN_IN_TIME.as_secs()
    );
    println!(
        "  the agents: {} requests: {} × 200, {} × 429, {} × 503, {} other; argon2 checks {} ({checks} in all, less one per guess checked)",
        agents.len(),
        count(&agents, 200),
        count(&agents, 429),
        count(&agents, 503),
        other(&agents) + count(&agents, 401),
        checks.saturating_sub(count(&guesses, 401)),
    );
    println!(
        "  the guesses: {} requests: {} × 401, {} × 429, {} × 503, {} other",
        guesses.len(),
        count(&guesses, 401),
        count(&guesses, 429),
        count(&guesses, 503),
        other(&guesses) + count(&guesses, 200),
    );
    Ok(())
}
