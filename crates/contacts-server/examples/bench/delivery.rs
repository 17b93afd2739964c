//! The delivery figures, with the server binaries under test run as child
//! processes (`--server PATH`, and `--baseline PATH` for the build to
//! compare with, the two taking turns in each round):
//!
//! - saves' requests/s and p99 from 16 closed-loop clients with the targets
//!   up (local receivers), down (connection refused) and not configured;
//! - the targets down for 60 s: requests/s in each 10 s window, as the
//!   backlog grows;
//! - delivery latency at steady open-loop rates of saves on each engine
//!   set-up (`latency.rs`).
//!
//! - the saves' p99 with and without 1,000 `/healthz` probes (`health.rs`).
//!
//! `--only saves,outage,latency,health` runs only those.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use contacts_testkit::receiver::Receiver;

use crate::api::{config, post};
use crate::health;
use crate::latency::{self, Sweep};
use crate::{Latencies, ms};

/// Closed-loop clients of the saves' phases.
pub const CLIENTS: usize = 16;
/// Each saves' phase lasts this long.
const PHASE: Duration = Duration::from_secs(8);
/// The long outage, and its windows.
const OUTAGE: Duration = Duration::from_secs(60);
const WINDOW: Duration = Duration::from_secs(10);

/// A server binary under test.
#[derive(Debug, Clone)]
pub struct Build {
    pub name: &'static str,
    pub binary: PathBuf,
}

/// A server process, killed when dropped.
pub struct Spawned {
    pub base: String,
    child: Child,
}

impl Spawned {
    pub fn start(build: &Build, db: &str, config: &Path, flags: &[&str]) -> Result<Self, String> {
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

/// The figures of `sections` (all if empty), each build in turn.
pub fn run(dir: &Path, builds: &[Build], sections: &[String], sweep: &Sweep) -> Result<(), String> {
    let wanted = |section: &str| sections.is_empty() || sections.iter().any(|s| s == section);
    if wanted("saves") {
        saves(dir, builds)?;
    }
    if wanted("outage") {
        outage(dir, builds)?;
    }
    if wanted("latency") {
        latency::latency(dir, builds, sweep)?;
    }
    if wanted("health") {
        health::health(dir, builds)?;
    }
    Ok(())
}

/// Closed-loop saves for `length` against `base`: the latencies, and the
/// successful saves in each `window`.
pub fn closed_loop(
    base: &str,
    prefix: &str,
    length: Duration,
    window: Duration,
) -> Result<(Latencies, Vec<usize>), String> {
    let agent = contacts_testkit::harness::client();
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
