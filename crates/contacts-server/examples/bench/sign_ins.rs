//! A freshly started server (the development login, `/metrics` on): 16
//! connections of `ocsuser` with the right password for 5 s, each its own
//! client, while 4 others guess passwords of `ocsuser`: the agents' 429s
//! (none expected) and the argon2 checks they cost (one expected), and the
//! guesses' answers.

use std::net::SocketAddr;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use contacts_server::Database;
use contacts_server::cli::Options;

use crate::api::basic;
use crate::running::Running;

/// The agents' connections, the guessers' and how long the fresh sign-ins run.
const SIGN_IN_AGENTS: usize = 16;
const SIGN_IN_GUESSERS: usize = 4;
const SIGN_IN_TIME: Duration = Duration::from_secs(5);

/// A freshly started server: 16 connections of `ocsuser` with the right
/// password while 4 guess: how many of each got 429, and how many argon2
/// checks the agents cost (from `contacts_password_checks_total`, less one
/// per guess checked: each guess is a new password).
pub fn fresh_sign_ins(dir: &Path) -> Result<(), String> {
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
