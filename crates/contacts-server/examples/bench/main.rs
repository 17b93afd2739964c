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
//! Last, a freshly started server: 16 connections of `ocsuser` with the
//! right password while 4 others guess it (`sign_ins.rs`).
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
//! `--server PATH` adds the delivery figures of `delivery.rs` (saves
//! with the targets up, down and not configured; the targets down for a
//! minute; delivery latency at a sweep of rates on each engine set-up;
//! the saves with and without a flood of `/healthz`)
//! for the server binary at PATH, and `--baseline PATH` beside it, the two
//! taking turns; `--deliveries-only` skips the rest. `--only` picks some of
//! the delivery figures; `--rates`, `--seconds`, `--setups` and `--pool`
//! choose the latency sweep's rates, the length of each load, the engine
//! set-ups and the connections per instance (`latency.rs`).
//!
//! Run it optimised: `cargo run --profile server -p contacts-server
//! --example bench [-- --engine postgres [--engines-only]] [--server PATH
//! [--baseline PATH] [--deliveries-only]]` (or `cargo xtask bench`).

mod api;
mod delivery;
mod engines;
mod flood;
mod health;
mod latency;
mod load;
mod running;
mod sign_ins;

use std::thread;
use std::time::{Duration, Instant};

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

const USAGE: &str = "usage: bench [--engine sqlite|postgres [--engines-only]] [--server PATH [--baseline PATH] [--deliveries-only] [--only saves,outage,latency,health] [--rates 100,500,...] [--seconds N] [--setups sqlite,pg1,pg2,pg-api] [--pool N]]";

/// Takes `flag` and its value out of `args`, if there.
fn take(args: &mut Vec<String>, flag: &str) -> Result<Option<String>, String> {
    let Some(at) = args.iter().position(|arg| arg == flag) else {
        return Ok(None);
    };
    let value = args.get(at + 1).ok_or(USAGE)?.clone();
    args.drain(at..at + 2);
    Ok(Some(value))
}

/// The comma-separated items of `flag`'s value, each read by `parse`.
fn list<T>(
    args: &mut Vec<String>,
    flag: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<Vec<T>>, String> {
    take(args, flag)?
        .map(|value| {
            value
                .split(',')
                .map(|item| parse(item.trim()).ok_or_else(|| format!("{flag} {value}: {USAGE}")))
                .collect()
        })
        .transpose()
}

fn main() -> Result<(), String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // The delivery figures' binaries: `--server PATH` ("this build") and
    // `--baseline PATH`, taken out of the arguments.
    let mut builds = Vec::new();
    for (flag, name) in [("--server", "this"), ("--baseline", "baseline")] {
        if let Some(binary) = take(&mut args, flag)? {
            builds.push(delivery::Build {
                name,
                binary: binary.into(),
            });
        }
    }
    let sections = list(&mut args, "--only", |s| {
        ["saves", "outage", "latency", "health"]
            .contains(&s)
            .then(|| s.to_owned())
    })?
    .unwrap_or_default();
    let sweep = latency::Sweep {
        rates: list(&mut args, "--rates", |r| r.parse().ok().filter(|r| *r > 0))?
            .unwrap_or_else(|| latency::RATES.to_vec()),
        steady: take(&mut args, "--seconds")?
            .map(|s| s.parse().ok().filter(|s| *s > 0).ok_or(USAGE))
            .transpose()?
            .map_or(latency::STEADY, Duration::from_secs),
        setups: list(&mut args, "--setups", latency::Setup::parse)?
            .unwrap_or_else(|| latency::Setup::ALL.to_vec()),
        pool: take(&mut args, "--pool")?
            .map(|s| s.parse().ok().filter(|s| *s > 0).ok_or(USAGE))
            .transpose()?,
    };
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
        load::phases(&dir).and_then(|()| flood::login_flood(&dir))
    } else {
        Ok(())
    }
    .and_then(|()| {
        if postgres {
            engines::engines(&dir)
        } else {
            Ok(())
        }
    })
    .and_then(|()| {
        if builds.is_empty() {
            Ok(())
        } else {
            delivery::run(&dir, &builds, &sections, &sweep)
        }
    })
    // Last, since it installs the process's metrics recorder, which would
    // then record the in-process servers of every later phase.
    .and_then(|()| {
        if relay {
            sign_ins::fresh_sign_ins(&dir)
        } else {
            Ok(())
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
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
