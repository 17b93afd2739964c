//! SQLite and PostgreSQL side by side, the relay idle.

use std::path::Path;
use std::time::{Duration, Instant};

use contacts_server::Database;
use contacts_testkit::postgres::Cluster;

use crate::api::config;
use crate::load::load_over;
use crate::running::Running;
use crate::{Latencies, REQUESTS, ROUNDS, ms};

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
pub fn engines(dir: &Path) -> Result<(), String> {
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
