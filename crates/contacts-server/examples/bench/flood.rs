//! Agents save while a flood of wrong passwords pours in.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use contacts_server::Database;
use contacts_server::cli::Options;

use crate::api::{basic, customer, post_as};
use crate::running::Running;
use crate::{Latencies, ms};

/// The agents who save during the login flood, and the flooders.
const AGENTS: usize = 4;
const FLOODERS: usize = 32;
const FLOOD_RATE: u32 = 300;
const FLOOD_TIME: Duration = Duration::from_secs(10);

/// Agents save while wrong passwords for their names pour in: their latency
/// without and with the flood, and the flood's answers.
pub fn login_flood(dir: &Path) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("no runtime: {e}"))?;
    let development: toml::Table = include_str!("../../dev-config.toml")
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
    let agent = contacts_testkit::harness::client();
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
