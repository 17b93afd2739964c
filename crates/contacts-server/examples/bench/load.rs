//! The relay's phases (idle, busy, a target that never answers) and the
//! closed-loop load they share with the engines' table.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use contacts_testkit::receiver::{Receiver, Reply};

use crate::api::{config, post};
use crate::running::Running;
use crate::{CLIENTS, Latencies, REQUESTS, ROUNDS, TIME_LIMIT, ms, wait_for};

pub fn phases(dir: &Path) -> Result<(), String> {
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

/// Sends `REQUESTS` distinct updates from `CLIENTS` clients and prints the figures.
fn load(phase: &str, base: &str, prefix: &str) -> Result<Latencies, String> {
    load_over(phase, &[base], CLIENTS, prefix).map(|(latencies, _)| latencies)
}

/// Sends `REQUESTS` distinct updates from `clients` clients spread over the
/// servers at `bases`, and prints the figures; returns the latencies and
/// the successful requests per second.
pub fn load_over(
    phase: &str,
    bases: &[&str],
    clients: usize,
    prefix: &str,
) -> Result<(Latencies, f64), String> {
    let agent = contacts_testkit::harness::client();
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
