//! The delivery figures, with the server binaries under test run as child
//! processes (`--server PATH`, and `--baseline PATH` for the build to
//! compare with, the two taking turns in each round):
//!
//! - saves' requests/s and p99 from 16 closed-loop clients with the targets
//!   up (local receivers), down (connection refused) and not configured;
//! - the targets down for 60 s: requests/s in each 10 s window, as the
//!   backlog grows;
//! - delivery latency, from the agent's POST to the receiver's receipt, p50
//!   and p99, at a steady open-loop load of 100 and 500 saves/s, on SQLite
//!   and on PostgreSQL with one instance, two instances, and an API-only
//!   instance (`--no-relay`) beside a relay instance; and whether every
//!   save reached MAS and MDM, in order per customer (by the `ETag` of each
//!   save's answer).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use contacts_testkit::postgres;
use contacts_testkit::receiver::Receiver;

use crate::api::{config, customer, post};
use crate::{CUSTOMERS, Latencies, ms};

/// Closed-loop clients of the saves' phases.
const CLIENTS: usize = 16;
/// Each saves' phase lasts this long.
const PHASE: Duration = Duration::from_secs(8);
/// The long outage, and its windows.
const OUTAGE: Duration = Duration::from_secs(60);
const WINDOW: Duration = Duration::from_secs(10);
/// Each open-loop load lasts this long, at these rates.
const STEADY: Duration = Duration::from_secs(10);
const RATES: [u32; 2] = [100, 500];
/// Open-loop senders: enough that a slow answer does not delay the next send.
const SENDERS: usize = 48;
/// How long the deliveries may take to arrive once the load stops.
const DRAIN: Duration = Duration::from_secs(20);

/// A server binary under test.
#[derive(Debug, Clone)]
pub struct Build {
    pub name: &'static str,
    pub binary: PathBuf,
}

/// A server process, killed when dropped.
struct Spawned {
    base: String,
    child: Child,
}

impl Spawned {
    fn start(build: &Build, db: &str, config: &Path, flags: &[&str]) -> Result<Self, String> {
        let mut child = Command::new(&build.binary)
            .args(["--addr", "127.0.0.1:0", "--db", db, "--config"])
            .arg(config)
            .args(flags)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", build.binary.display()))?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("no start-up line: {e}"))?;
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("{}: no start-up line: {line:?}", build.name))?
            .to_owned();
        Ok(Self { base, child })
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    )
}

/// Every figure, each build in turn.
pub fn run(dir: &Path, builds: &[Build]) -> Result<(), String> {
    saves(dir, builds)?;
    outage(dir, builds)?;
    latency(dir, builds)
}

/// Closed-loop saves for `length` against `base`: the latencies, and the
/// successful saves in each `window`.
fn closed_loop(
    base: &str,
    prefix: &str,
    length: Duration,
    window: Duration,
) -> Result<(Latencies, Vec<usize>), String> {
    let agent = agent();
    post(&agent, base, &format!("{prefix}-warm-up"), 0)?;
    let next = AtomicUsize::new(0);
    let windows: Vec<AtomicUsize> = (0..length.div_duration_f64(window).ceil() as usize)
        .map(|_| AtomicUsize::new(0))
        .collect();
    let times = Mutex::new(Vec::new());
    let failures = AtomicUsize::new(0);
    let started = Instant::now();
    thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                while started.elapsed() < length {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let sent = Instant::now();
                    if post(&agent, base, &format!("{prefix}-{i}"), i).is_ok() {
                        let at = started.elapsed().div_duration_f64(window) as usize;
                        if let Some(count) = windows.get(at) {
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                        times
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(sent.elapsed());
                    } else {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner();
    if failures > 0 {
        return Err(format!("{prefix}: {failures} saves failed"));
    }
    let times = times
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok((
        Latencies::new(times, 0),
        windows.into_iter().map(AtomicUsize::into_inner).collect(),
    ))
}

/// Saves with the targets up, down and not configured.
fn saves(dir: &Path, builds: &[Build]) -> Result<(), String> {
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let (mut mas_down, mut mdm_down) = (Receiver::start("MAS"), Receiver::start("MDM"));
    mas_down.down();
    mdm_down.down();
    let phases = [
        ("not configured", config(dir, "none", None, None, None)?),
        ("up", config(dir, "up", Some(&mas), Some(&mdm), None)?),
        (
            "down",
            config(dir, "down", Some(&mas_down), Some(&mdm_down), None)?,
        ),
    ];
    println!(
        "\nsaves with the targets up, down and not configured: {CLIENTS} clients, {} s each, SQLite",
        PHASE.as_secs()
    );
    let mut pooled: HashMap<(usize, usize), (Vec<Duration>, usize)> = HashMap::new();
    for round in 0..2 {
        for (b, build) in builds.iter().enumerate() {
            for (p, (_, config)) in phases.iter().enumerate() {
                let name = format!("s{round}{b}{p}");
                let db = dir.join(format!("{name}.sqlite"));
                let server = Spawned::start(build, &db.display().to_string(), config, &[])?;
                let (latencies, windows) = closed_loop(&server.base, &name, PHASE, PHASE)?;
                let entry = pooled.entry((b, p)).or_default();
                entry.0.extend(latencies.times);
                entry.1 += windows.iter().sum::<usize>();
            }
        }
    }
    for (b, build) in builds.iter().enumerate() {
        let figures: Vec<(f64, Duration)> = (0..phases.len())
            .map(|p| {
                let (times, ok) = pooled.remove(&(b, p)).unwrap_or_default();
                let rate = ok as f64 / (2.0 * PHASE.as_secs_f64());
                (rate, Latencies::new(times, 0).percentile(99))
            })
            .collect();
        for ((title, _), (rate, p99)) in phases.iter().zip(&figures) {
            println!(
                "  {:<9} targets {title:<15} {rate:>6.0} requests/s  p99 {:>6.2} ms",
                build.name,
                ms(*p99)
            );
        }
        println!(
            "  {:<9} down / not configured: requests/s {:.2}, p99 {:.2}",
            build.name,
            figures[2].0 / figures[0].0,
            figures[2].1.as_secs_f64() / figures[0].1.as_secs_f64()
        );
    }
    Ok(())
}

/// The targets down for a minute: does the throughput decline as the
/// backlog grows?
fn outage(dir: &Path, builds: &[Build]) -> Result<(), String> {
    let (mut mas, mut mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    mas.down();
    mdm.down();
    let config = config(dir, "outage", Some(&mas), Some(&mdm), None)?;
    println!(
        "\nthe targets down for {} s, {CLIENTS} clients, SQLite: saves/s in each {} s window",
        OUTAGE.as_secs(),
        WINDOW.as_secs()
    );
    for (b, build) in builds.iter().enumerate() {
        let name = format!("o{b}");
        let db = dir.join(format!("{name}.sqlite"));
        let server = Spawned::start(build, &db.display().to_string(), &config, &[])?;
        let (latencies, windows) = closed_loop(&server.base, &name, OUTAGE, WINDOW)?;
        let rates: Vec<String> = windows
            .iter()
            .map(|n| format!("{:.0}", *n as f64 / WINDOW.as_secs_f64()))
            .collect();
        println!(
            "  {:<9} {} (p99 {:.2} ms; {} deliveries pending per target at the end)",
            build.name,
            rates.join(" → "),
            ms(latencies.percentile(99)),
            windows.iter().sum::<usize>() + 1
        );
    }
    Ok(())
}

/// One engine set-up of the latency runs.
#[derive(Debug, Clone, Copy)]
enum Setup {
    Sqlite,
    PostgresOne,
    PostgresTwo,
    PostgresApiOnly,
}

impl Setup {
    const ALL: [Setup; 4] = [
        Setup::Sqlite,
        Setup::PostgresOne,
        Setup::PostgresTwo,
        Setup::PostgresApiOnly,
    ];

    fn title(self) -> &'static str {
        match self {
            Setup::Sqlite => "SQLite, 1 instance",
            Setup::PostgresOne => "PostgreSQL, 1 instance",
            Setup::PostgresTwo => "PostgreSQL, 2 instances",
            Setup::PostgresApiOnly => "PostgreSQL, API-only + relay instance",
        }
    }

    /// The instances, started on a new database; the saves go to the first
    /// `saving` of them.
    fn start(
        self,
        build: &Build,
        cluster: &postgres::Cluster,
        dir: &Path,
        name: &str,
        config: &Path,
    ) -> Result<(Vec<Spawned>, usize), String> {
        let db = match self {
            Setup::Sqlite => dir.join(format!("{name}.sqlite")).display().to_string(),
            _ => cluster.create_database(name)?,
        };
        let start = |flags: &[&str]| Spawned::start(build, &db, config, flags);
        Ok(match self {
            Setup::Sqlite | Setup::PostgresOne => (vec![start(&[])?], 1),
            Setup::PostgresTwo => (vec![start(&[])?, start(&[])?], 2),
            Setup::PostgresApiOnly => (vec![start(&["--no-relay"])?, start(&[])?], 1),
        })
    }
}

/// What one open-loop load came to.
struct Steady {
    saved: usize,
    failed: usize,
    /// Per target: the latencies of the first arrival of each save.
    latencies: Vec<Latencies>,
    /// Per target: saves that never arrived within the drain time.
    missing: Vec<usize>,
    /// Per target: customers whose arrivals broke the acceptance order.
    out_of_order: Vec<usize>,
}

/// Saves at `rate` per second for [`STEADY`] over `bases`, then waits for
/// their deliveries.
fn steady(
    bases: &[String],
    rate: u32,
    prefix: &str,
    receivers: &[&Receiver; 2],
) -> Result<Steady, String> {
    let agent = agent();
    for (n, base) in bases.iter().enumerate() {
        post(&agent, base, &format!("{prefix}-warm-up-{n}"), n)?;
    }
    let count = (STEADY.as_secs_f64() * f64::from(rate)) as usize;
    let interval = Duration::from_secs(1) / rate;
    // Per save: when it was sent, and its customer and version (ETag).
    let sent: Mutex<HashMap<String, (Instant, String, u64)>> = Mutex::new(HashMap::new());
    let failed = AtomicUsize::new(0);
    let started = Instant::now();
    thread::scope(|scope| {
        for sender in 0..SENDERS {
            let (agent, sent, failed) = (&agent, &sent, &failed);
            scope.spawn(move || {
                for i in (sender..count).step_by(SENDERS) {
                    let at = started + interval * u32::try_from(i).unwrap_or(u32::MAX);
                    thread::sleep(at.saturating_duration_since(Instant::now()));
                    let base = &bases[i % bases.len()];
                    let tracking_id = format!("{prefix}-{i}");
                    let posted = Instant::now();
                    match post(agent, base, &tracking_id, i) {
                        Ok(version) => {
                            sent.lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .insert(tracking_id, (posted, customer(i % CUSTOMERS), version));
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let sent = sent
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let arrived = |receiver: &Receiver| {
        receiver
            .received()
            .into_iter()
            .filter(|r| sent.contains_key(r.tracking_id()))
            .collect::<Vec<_>>()
    };
    let drain = Instant::now();
    while drain.elapsed() < DRAIN
        && receivers.iter().any(|receiver| {
            let mut ids: Vec<String> = arrived(receiver)
                .iter()
                .map(|r| r.tracking_id().to_owned())
                .collect();
            ids.sort();
            ids.dedup();
            ids.len() < sent.len()
        })
    {
        thread::sleep(Duration::from_millis(50));
    }
    let mut figures = Steady {
        saved: sent.len(),
        failed: failed.into_inner(),
        latencies: Vec::new(),
        missing: Vec::new(),
        out_of_order: Vec::new(),
    };
    for receiver in receivers {
        let mut first: HashMap<&str, Instant> = HashMap::new();
        let mut versions: HashMap<&str, Vec<u64>> = HashMap::new();
        let received = arrived(receiver);
        for r in &received {
            let (_, customer, version) = &sent[r.tracking_id()];
            first.entry(r.tracking_id()).or_insert(r.at);
            let seen = versions.entry(customer.as_str()).or_default();
            if seen.last() != Some(version) {
                seen.push(*version);
            }
        }
        let times = first
            .iter()
            .map(|(id, at)| at.saturating_duration_since(sent[*id].0))
            .collect();
        figures.latencies.push(Latencies::new(times, 0));
        figures.missing.push(sent.len() - first.len());
        figures
            .out_of_order
            .push(versions.values().filter(|v| !v.is_sorted()).count());
    }
    Ok(figures)
}

/// Delivery latency at steady loads on each engine set-up.
fn latency(dir: &Path, builds: &[Build]) -> Result<(), String> {
    let cluster = postgres::Cluster::start(true)?;
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let config = config(dir, "latency", Some(&mas), Some(&mdm), None)?;
    println!(
        "\ndelivery latency, from the agent's POST to the target's receipt, {} s of open-loop saves at each rate:",
        STEADY.as_secs()
    );
    for setup in Setup::ALL {
        for rate in RATES {
            for (b, build) in builds.iter().enumerate() {
                let name = format!("l{}{rate}{b}", setup as usize);
                let (servers, saving) = setup.start(build, &cluster, dir, &name, &config)?;
                let bases: Vec<String> = servers[..saving].iter().map(|s| s.base.clone()).collect();
                let figures = steady(&bases, rate, &name, &[&mas, &mdm])?;
                drop(servers);
                let [mas_latency, mdm_latency] = &figures.latencies[..] else {
                    return Err("two targets".into());
                };
                println!(
                    "  {:<38} {rate:>3}/s {:<9} MAS p50 {:>7.1} ms p99 {:>7.1} ms; MDM p50 {:>7.1} ms p99 {:>7.1} ms; {} saved ({} failed), missing {:?}, customers out of order {:?}",
                    setup.title(),
                    build.name,
                    ms(mas_latency.percentile(50)),
                    ms(mas_latency.percentile(99)),
                    ms(mdm_latency.percentile(50)),
                    ms(mdm_latency.percentile(99)),
                    figures.saved,
                    figures.failed,
                    figures.missing,
                    figures.out_of_order,
                );
            }
        }
    }
    Ok(())
}
