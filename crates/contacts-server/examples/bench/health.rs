//! Probes during a save load: 1,000 `GET /healthz` from 64 clients, spread
//! evenly over a closed-loop load of saves (16 clients, the targets up),
//! against the same load without them. The two take turns for a few
//! rounds, each round starting with the other, on SQLite and on one
//! PostgreSQL instance; the saves' p99 of each, over every round's
//! requests, and their ratio (the goal: within 1.2×), and each round's.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use contacts_testkit::postgres;
use contacts_testkit::receiver::Receiver;

use crate::api::config;
use crate::delivery::{Build, CLIENTS, Spawned, closed_loop};
use crate::{Latencies, ms};

/// The probes, their clients, and the load they come during.
const PROBES: usize = 1_000;
const PROBE_CLIENTS: usize = 64;
const LOAD: Duration = Duration::from_secs(5);
/// Rounds: even, so that each order comes as often as the other.
const ROUNDS: usize = 4;

/// Sends [`PROBES`] `GET /healthz` to `base` from [`PROBE_CLIENTS`]
/// clients, evenly over [`LOAD`]: how many answered 200, and their p99.
fn probe(base: &str) -> (usize, Duration) {
    let agent = contacts_testkit::harness::client();
    let interval = LOAD / u32::try_from(PROBES).unwrap_or(u32::MAX);
    let ok = AtomicUsize::new(0);
    let started = Instant::now();
    let times: Vec<Duration> = thread::scope(|scope| {
        let clients: Vec<_> = (0..PROBE_CLIENTS)
            .map(|client| {
                let (agent, ok) = (&agent, &ok);
                scope.spawn(move || {
                    let mut times = Vec::new();
                    for i in (client..PROBES).step_by(PROBE_CLIENTS) {
                        let at = started + interval * u32::try_from(i).unwrap_or(u32::MAX);
                        thread::sleep(at.saturating_duration_since(Instant::now()));
                        let sent = Instant::now();
                        if let Ok(mut response) = agent.get(format!("{base}/healthz")).call() {
                            let _ = response.body_mut().read_to_string();
                            if response.status() == 200 {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        times.push(sent.elapsed());
                    }
                    times
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|client| client.join().unwrap_or_default())
            .collect()
    });
    (ok.into_inner(), Latencies::new(times, 0).percentile(99))
}

/// The saves' p99 without and with the probes, on each engine.
pub fn health(dir: &Path, builds: &[Build]) -> Result<(), String> {
    let cluster = postgres::Cluster::start(true)?;
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let config = config(dir, "health", Some(&mas), Some(&mdm), None)?;
    println!(
        "\n{PROBES} GET /healthz from {PROBE_CLIENTS} clients during {} s of saves from {CLIENTS} clients (targets up), against the same load without them, {ROUNDS} rounds:",
        LOAD.as_secs()
    );
    for engine in ["SQLite", "PostgreSQL"] {
        for (b, build) in builds.iter().enumerate() {
            // Without, then with the probes: every round's saves, and the
            // probes' answers.
            let mut pooled: [Vec<Duration>; 2] = Default::default();
            let mut rounds: Vec<[Duration; 2]> = Vec::new();
            let (mut answered, mut probe_p99) = (0, Duration::ZERO);
            for round in 0..ROUNDS {
                let mut p99s = [Duration::ZERO; 2];
                for probed in [round % 2 == 1, round % 2 == 0] {
                    let name = format!("h{}{b}{round}{}", engine.len(), usize::from(probed));
                    let db = match engine {
                        "SQLite" => dir.join(format!("{name}.sqlite")).display().to_string(),
                        _ => cluster.create_database(&name)?,
                    };
                    let server = Spawned::start(build, &db, &config, &[])?;
                    let (latencies, probes) = thread::scope(|scope| {
                        let probes = probed.then(|| scope.spawn(|| probe(&server.base)));
                        let latencies = closed_loop(&server.base, &name, LOAD, LOAD);
                        (latencies, probes.map(|p| p.join().unwrap_or_default()))
                    });
                    let (latencies, _) = latencies?;
                    if let Some((ok, p99)) = probes {
                        answered += ok;
                        probe_p99 = probe_p99.max(p99);
                    }
                    p99s[usize::from(probed)] = latencies.percentile(99);
                    pooled[usize::from(probed)].extend(latencies.times);
                }
                rounds.push(p99s);
            }
            let per_round: Vec<String> = rounds
                .iter()
                .map(|[without, with]| format!("{:.2}", with.as_secs_f64() / without.as_secs_f64()))
                .collect();
            let [without, with] = pooled.map(|times| Latencies::new(times, 0));
            let (without, with) = (without.percentile(99), with.percentile(99));
            println!(
                "  {engine:<11} {:<9} saves' p99 without the probes {:.2} ms, with them {:.2} ms: ratio {:.2} (per round: {}; {} of {} probes answered 200, their p99 at most {:.1} ms)",
                build.name,
                ms(without),
                ms(with),
                with.as_secs_f64() / without.as_secs_f64(),
                per_round.join(", "),
                answered,
                PROBES * ROUNDS,
                ms(probe_p99)
            );
        }
    }
    Ok(())
}
