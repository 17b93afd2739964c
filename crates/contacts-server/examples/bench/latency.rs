//! Delivery latency, from the agent's POST to the target's receipt, at
//! steady open-loop rates of saves on each engine set-up (SQLite; PostgreSQL
//! with one instance, two instances, and an API-only `--no-relay` instance
//! beside a relay instance): p50 and p99 per target, whether the relay kept
//! up, and the highest rate it kept up with. The rates go up one at a time
//! (`--rates`); a build that fell behind at one rate is not run at the
//! higher ones of that set-up, so the sweep is bounded in count and time.
//!
//! Every run checks that every save reached MAS and MDM, in order per
//! customer (by the `ETag` of each save's answer), and says so.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use contacts_testkit::postgres;
use contacts_testkit::receiver::Receiver;

use crate::api::{config, customer, post};
use crate::delivery::{Build, Spawned};
use crate::{CUSTOMERS, Latencies, ms};

/// The rates of saves per second tried when `--rates` is not given.
pub const RATES: [u32; 6] = [100, 200, 500, 1000, 1500, 2000];
/// Each open-loop load lasts this long unless `--seconds` says otherwise.
pub const STEADY: Duration = Duration::from_secs(10);
/// Open-loop senders: enough that a slow answer does not delay the next send.
const SENDERS: usize = 96;
/// Once the load stops, the deliveries may take this long to arrive in all...
const DRAIN: Duration = Duration::from_secs(60);
/// ... as long as one arrives at least this often.
const STALLED: Duration = Duration::from_secs(10);
/// The relay kept up if, when the load stopped, no more saves than this
/// many seconds' worth waited to arrive at a target...
const BACKLOG_SECONDS: f64 = 0.25;
/// ... and the latency of the last quarter of the saves was no more than
/// this many times that of the first quarter, plus [`GROWTH_SLACK`].
const GROWTH: f64 = 2.0;
const GROWTH_SLACK: Duration = Duration::from_millis(20);
/// The load was sent if this share of the rate's saves were answered in time.
const SENT: f64 = 0.95;

/// One engine set-up of the latency runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    Sqlite,
    PostgresOne,
    PostgresTwo,
    PostgresApiOnly,
}

impl Setup {
    pub const ALL: [Setup; 4] = [
        Setup::Sqlite,
        Setup::PostgresOne,
        Setup::PostgresTwo,
        Setup::PostgresApiOnly,
    ];

    /// The set-up's name on the command line (`--setups`).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "sqlite" => Setup::Sqlite,
            "pg1" => Setup::PostgresOne,
            "pg2" => Setup::PostgresTwo,
            "pg-api" => Setup::PostgresApiOnly,
            _ => return None,
        })
    }

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
        cluster: Option<&postgres::Cluster>,
        dir: &Path,
        name: &str,
        config: &Path,
    ) -> Result<(Vec<Spawned>, usize), String> {
        let db = match (self, cluster) {
            (Setup::Sqlite, _) => dir.join(format!("{name}.sqlite")).display().to_string(),
            (_, Some(cluster)) => cluster.create_database(name)?,
            (_, None) => return Err("no PostgreSQL cluster".into()),
        };
        let start = |flags: &[&str]| Spawned::start(build, &db, config, flags);
        Ok(match self {
            Setup::Sqlite | Setup::PostgresOne => (vec![start(&[])?], 1),
            Setup::PostgresTwo => (vec![start(&[])?, start(&[])?], 2),
            Setup::PostgresApiOnly => (vec![start(&["--no-relay"])?, start(&[])?], 1),
        })
    }
}

/// What the latency sweep runs: its rates, the length of each load, and
/// the set-ups.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub rates: Vec<u32>,
    pub steady: Duration,
    pub setups: Vec<Setup>,
    /// PostgreSQL: connections per instance, where not the default.
    pub pool: Option<usize>,
}

/// One target's deliveries in one run.
struct Target {
    /// The latencies of the first arrival of each save.
    latencies: Latencies,
    /// The p50 of the first and of the last quarter of the saves (by the
    /// order they were sent).
    quarters: (Duration, Duration),
    /// Saves not yet arrived when the load stopped.
    backlog: usize,
    /// Saves that never arrived within the drain time.
    missing: usize,
    /// Customers whose arrivals broke the acceptance order.
    out_of_order: usize,
}

/// What one open-loop load came to.
struct Steady {
    saved: usize,
    failed: usize,
    /// Saves answered per second while the load ran.
    sent_rate: f64,
    targets: Vec<Target>,
}

impl Steady {
    /// Every save reached every target, in order per customer.
    fn complete(&self) -> bool {
        self.failed == 0
            && self
                .targets
                .iter()
                .all(|t| t.missing == 0 && t.out_of_order == 0)
    }

    /// Why the relay did not keep up with `rate`, if it did not.
    fn behind(&self, rate: u32) -> Vec<String> {
        let mut why = Vec::new();
        if self.sent_rate < SENT * f64::from(rate) {
            why.push(format!("the API took only {:.0} saves/s", self.sent_rate));
        }
        let allowed = (BACKLOG_SECONDS * f64::from(rate)).ceil() as usize;
        for (name, t) in ["MAS", "MDM"].iter().zip(&self.targets) {
            if t.backlog > allowed {
                why.push(format!("{name} backlog {} > {allowed}", t.backlog));
            }
            let (first, last) = t.quarters;
            if last > first.mul_f64(GROWTH) + GROWTH_SLACK {
                why.push(format!(
                    "{name} latency growing (p50 {:.1} → {:.1} ms)",
                    ms(first),
                    ms(last)
                ));
            }
        }
        if !self.complete() {
            why.push("not every save arrived in order".into());
        }
        why
    }
}

/// Saves at `rate` per second for `length` over `bases`, then waits for
/// their deliveries.
fn steady(
    bases: &[String],
    rate: u32,
    length: Duration,
    prefix: &str,
    receivers: &[&Receiver; 2],
) -> Result<Steady, String> {
    let agent = contacts_testkit::harness::client();
    for (n, base) in bases.iter().enumerate() {
        post(&agent, base, &format!("{prefix}-warm-up-{n}"), n)?;
    }
    let count = (length.as_secs_f64() * f64::from(rate)) as usize;
    let interval = Duration::from_secs(1) / rate;
    // Per save: when it was sent, its number, and its customer and version (ETag).
    let sent: Mutex<HashMap<String, (Instant, usize, String, u64)>> = Mutex::new(HashMap::new());
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
                                .insert(tracking_id, (posted, i, customer(i % CUSTOMERS), version));
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let sent = sent
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let sent_rate = sent.len() as f64 / elapsed;
    let arrived = |receiver: &Receiver| {
        receiver
            .tracking_ids()
            .into_iter()
            .filter(|id| sent.contains_key(id))
            .collect::<HashSet<_>>()
            .len()
    };
    let backlogs: Vec<usize> = receivers.iter().map(|r| sent.len() - arrived(r)).collect();
    let drain = Instant::now();
    let (mut progress, mut last) = (Instant::now(), 0);
    loop {
        let now: usize = receivers.iter().map(|r| arrived(r)).sum();
        if now == 2 * sent.len() || drain.elapsed() > DRAIN || progress.elapsed() > STALLED {
            break;
        }
        if now > last {
            (progress, last) = (Instant::now(), now);
        }
        thread::sleep(Duration::from_millis(50));
    }
    let mut figures = Steady {
        saved: sent.len(),
        failed: failed.into_inner(),
        sent_rate,
        targets: Vec::new(),
    };
    for (receiver, backlog) in receivers.iter().zip(backlogs) {
        let received = receiver.received();
        let mut first: HashMap<&str, Instant> = HashMap::new();
        let mut versions: HashMap<&str, Vec<u64>> = HashMap::new();
        for r in received
            .iter()
            .filter(|r| sent.contains_key(r.tracking_id()))
        {
            let (_, _, customer, version) = &sent[r.tracking_id()];
            first.entry(r.tracking_id()).or_insert(r.at);
            let seen = versions.entry(customer.as_str()).or_default();
            if seen.last() != Some(version) {
                seen.push(*version);
            }
        }
        // Each save's latency, by the order it was sent.
        let mut timed: Vec<(usize, Duration)> = first
            .iter()
            .map(|(id, at)| {
                let (posted, i, _, _) = &sent[*id];
                (*i, at.saturating_duration_since(*posted))
            })
            .collect();
        timed.sort_unstable();
        let quarter = timed.len() / 4;
        let p50 = |part: &[(usize, Duration)]| {
            Latencies::new(part.iter().map(|(_, d)| *d).collect(), 0).percentile(50)
        };
        figures.targets.push(Target {
            quarters: (p50(&timed[..quarter]), p50(&timed[timed.len() - quarter..])),
            latencies: Latencies::new(timed.into_iter().map(|(_, d)| d).collect(), 0),
            backlog,
            missing: sent.len() - first.len(),
            out_of_order: versions.values().filter(|v| !v.is_sorted()).count(),
        });
    }
    Ok(figures)
}

/// Delivery latency at steady loads on each engine set-up, rate after rate.
pub fn latency(dir: &Path, builds: &[Build], sweep: &Sweep) -> Result<(), String> {
    let cluster = if sweep.setups.iter().any(|s| *s != Setup::Sqlite) {
        Some(postgres::Cluster::start(true)?)
    } else {
        None
    };
    println!(
        "\ndelivery latency, from the agent's POST to the target's receipt, {} s of open-loop saves at each rate{} (kept up: every save arrived in order, at most {BACKLOG_SECONDS} s of saves waiting when the load stopped, the last quarter's p50 within {GROWTH}× the first's + {} ms):",
        sweep.steady.as_secs_f64(),
        sweep
            .pool
            .map(|size| format!(", a pool of {size} connections per instance"))
            .unwrap_or_default(),
        GROWTH_SLACK.as_millis()
    );
    let mut incomplete = Vec::new();
    let mut runs = 0;
    for setup in &sweep.setups {
        // Per build: the highest rate kept up, and the first one not.
        let mut kept: Vec<(Option<u32>, Option<u32>)> = vec![(None, None); builds.len()];
        for (r, &rate) in sweep.rates.iter().enumerate() {
            // The builds take turns, each rate starting with another.
            for b in (0..builds.len()).map(|k| (k + r) % builds.len()) {
                let build = &builds[b];
                if kept[b].1.is_some() {
                    continue;
                }
                let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
                let name = format!("l{}r{rate}b{b}", *setup as usize);
                let config = config(dir, &name, Some(&mas), Some(&mdm), sweep.pool)?;
                let (servers, saving) =
                    setup.start(build, cluster.as_ref(), dir, &name, &config)?;
                let bases: Vec<String> = servers[..saving].iter().map(|s| s.base.clone()).collect();
                let figures = steady(&bases, rate, sweep.steady, &name, &[&mas, &mdm])?;
                drop(servers);
                runs += 1;
                if !figures.complete() {
                    incomplete.push(format!("{}, {rate}/s, {}", setup.title(), build.name));
                }
                let behind = figures.behind(rate);
                if behind.is_empty() {
                    kept[b].0 = Some(rate);
                } else {
                    kept[b].1 = Some(rate);
                }
                let [mas, mdm] = &figures.targets[..] else {
                    return Err("two targets".into());
                };
                println!(
                    "  {:<38} {rate:>5}/s {:<9} MAS p50 {:>7.1} ms p99 {:>7.1} ms; MDM p50 {:>7.1} ms p99 {:>7.1} ms; {} saved at {:.0}/s ({} failed); waiting at the end {}/{}; p50 first → last quarter {:.1} → {:.1} ms; missing {}/{}, customers out of order {}/{}: {}",
                    setup.title(),
                    build.name,
                    ms(mas.latencies.percentile(50)),
                    ms(mas.latencies.percentile(99)),
                    ms(mdm.latencies.percentile(50)),
                    ms(mdm.latencies.percentile(99)),
                    figures.saved,
                    figures.sent_rate,
                    figures.failed,
                    mas.backlog,
                    mdm.backlog,
                    ms(mas.quarters.0.max(mdm.quarters.0)),
                    ms(mas.quarters.1.max(mdm.quarters.1)),
                    mas.missing,
                    mdm.missing,
                    mas.out_of_order,
                    mdm.out_of_order,
                    if behind.is_empty() {
                        "kept up".to_owned()
                    } else {
                        format!("BEHIND ({})", behind.join("; "))
                    }
                );
            }
        }
        for (build, (highest, first_behind)) in builds.iter().zip(kept) {
            println!(
                "  {:<38} {:<9} highest rate kept up: {}; {}",
                setup.title(),
                build.name,
                highest.map_or("none".to_owned(), |r| format!("{r} saves/s")),
                first_behind.map_or("behind at none of the rates tried".to_owned(), |r| {
                    format!("behind at {r} saves/s")
                })
            );
        }
    }
    if incomplete.is_empty() {
        println!(
            "  every save reached MAS and MDM, in order per customer, in each of the {runs} runs"
        );
    } else {
        println!(
            "  NOT every save reached MAS and MDM in order per customer in: {}",
            incomplete.join("; ")
        );
    }
    Ok(())
}
