//! Targets that fail: unavailable, refusing, never answering, down during a
//! load, and the server killed while it delivers; and what retention keeps.

use super::*;

#[test]
fn unavailable_targets_are_retried_within_the_backoff_and_retry_after_is_honoured() {
    let _heavy = heavy();
    let scratch = Scratch::new();
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    mas.script(std::iter::repeat_n(Reply::Status(503, "busy"), 5));
    let relay = "backoff_base_ms = 100\nbackoff_cap_ms = 3000";
    let server = relaying_measured(
        &scratch,
        &development_customers(),
        &targets(Some(&mas), Some(&mdm), 2_000, relay),
    );
    save(&server, ACTIVE, "retried-1", 1);
    wait_for("the sixth attempt", Duration::from_secs(15), || {
        mas.applied() == 1
    });
    let attempts: Vec<Instant> = mas.received().iter().map(|r| r.at).collect();
    assert_eq!(attempts.len(), 6, "five 503s, then the 200");
    for (k, pair) in attempts.windows(2).enumerate() {
        let wait = pair[1] - pair[0];
        // Full jitter: anywhere from 0 to base × 2^k; a little more for the
        // relay's own work on a busy machine.
        let bound = Duration::from_millis(100 << k) + Duration::from_millis(300);
        assert!(wait <= bound, "wait {k}: {wait:?} > {bound:?}");
    }
    assert_eq!(mdm.received().len(), 1, "MDM was not held up");

    mas.script([Reply::RetryAfter(429, 2)]);
    save(&server, ACTIVE, "retried-2", 2);
    wait_for("the retried delivery", Duration::from_secs(10), || {
        mas.applied() == 2
    });
    let received = mas.received();
    let [first, second] = &received[6..] else {
        panic!("two attempts of retried-2: {}", received.len());
    };
    let wait = second.at - first.at;
    assert!(
        wait >= Duration::from_secs(2) && wait < Duration::from_millis(2_600),
        "Retry-After: 2 honoured: {wait:?}"
    );

    let metrics = server.scrape();
    for (labels, expected) in [
        (vec!["target=\"MAS\"", "result=\"retried\""], 6.0),
        (vec!["target=\"MAS\"", "result=\"delivered\""], 2.0),
        (vec!["target=\"MDM\"", "result=\"delivered\""], 2.0),
    ] {
        assert_eq!(
            metric(&metrics, "contacts_deliveries_total", &labels),
            expected,
            "{labels:?}\n{metrics}"
        );
    }
    assert_eq!(
        metric(
            &metrics,
            "contacts_delivery_attempts_total",
            &["target=\"MAS\""]
        ),
        8.0
    );
}

#[test]
fn a_refused_delivery_is_dead_holds_back_its_customer_only_and_is_sent_by_retry() {
    let scratch = Scratch::new();
    let relay = "backoff_base_ms = 50\nbackoff_cap_ms = 200";
    let (mas, mdm, server) = relaying_to_both(&scratch, 2_000, relay);
    mas.script([Reply::Status(
        400,
        "{\"error\":\"work_phone refused\"}\u{1b}[2J",
    )]);
    save(&server, ACTIVE, "refused-1", 1);
    wait_for("the refusal", Duration::from_secs(10), || {
        mas.received().len() == 1
    });
    save(&server, ACTIVE, "held-back-2", 2);
    save(&server, INACTIVE, "other-customer-3", 3);
    wait_for(
        "MDM and the other customer",
        Duration::from_secs(10),
        || mdm.applied() == 3 && mas.applied() == 1,
    );
    thread::sleep(Duration::from_millis(500));
    let got = mas.tracking_ids();
    assert_eq!(
        got,
        ["refused-1", "other-customer-3"],
        "the dead one holds back its customer only"
    );

    let dead = server
        .command(&["deliveries", "list", "--state", "dead"])
        .unwrap();
    let lines: Vec<&str> = dead.lines().skip(1).collect();
    assert_eq!(lines.len(), 1, "{dead}");
    let cells: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(
        &cells[1..6],
        ["refused-1", "MAS", ACTIVE, "dead", "1"],
        "{dead}"
    );
    assert_eq!(
        cells[7], "HTTP 400: {\\\"error\\\":\\\"work_phone refused\\\"}\\u{1b}[2J",
        "kept, escaped"
    );
    let pending = server
        .command(&[
            "deliveries",
            "list",
            "--state",
            "pending",
            "--customer",
            ACTIVE,
        ])
        .unwrap();
    assert!(pending.contains("held-back-2\tMAS"), "{pending}");
    let health = server.get("/healthz", &[]);
    assert_eq!(health.body["degraded"], true, "{}", health.text);
    assert_eq!(health.body["targets"]["MAS"]["dead"], 1, "{}", health.text);
    assert_eq!(
        health.body["targets"]["MAS"]["pending"], 1,
        "{}",
        health.text
    );
    assert_eq!(
        health.body["targets"]["MDM"]["degraded"], false,
        "{}",
        health.text
    );

    // The target is fixed (it now answers 200): the operator retries.
    let id = delivery_id(&dead, "refused-1", "MAS");
    let retried = server.command(&["deliveries", "retry", &id]).unwrap();
    assert!(retried.contains("will be sent again"), "{retried}");
    wait_for("the retried deliveries", Duration::from_secs(10), || {
        mas.applied() == 3
    });
    let got = mas.tracking_ids();
    assert_eq!(
        got,
        ["refused-1", "other-customer-3", "refused-1", "held-back-2"]
    );

    // A dead delivery discarded holds back nothing more.
    mas.script([Reply::Status(422, "no")]);
    save(&server, ACTIVE, "discarded-4", 4);
    wait_for("the second refusal", Duration::from_secs(10), || {
        mas.received().len() == 5
    });
    save(&server, ACTIVE, "after-discard-5", 5);
    let id = discard_mas(&server, "dead", "discarded-4");
    assert!(
        server
            .command(&["deliveries", "discard", &id])
            .unwrap_err()
            .contains("no dead or pending delivery")
    );
    wait_for(
        "the one after the discarded",
        Duration::from_secs(10),
        || mas.applied() == 4,
    );
    assert_eq!(
        mas.received().last().unwrap().tracking_id(),
        "after-discard-5"
    );
    let actions = count(
        &server.db,
        "SELECT count(*) FROM audit WHERE action IN ('delivery.retry', 'delivery.discard') AND ezpay_id = ?1",
        ACTIVE,
    );
    assert_eq!(actions, 2, "both operators' actions are in the audit trail");
}

#[test]
fn a_target_that_never_answers_times_out_and_holds_up_nothing_else() {
    let scratch = Scratch::new();
    let relay = "backoff_base_ms = 50\nbackoff_cap_ms = 100";
    let (mas, mdm, server) = relaying_to_both(&scratch, 300, relay);
    mas.otherwise(Reply::Hang);
    save(&server, ACTIVE, "hanging-1", 1);
    wait_for(
        "a second attempt after the timeout",
        Duration::from_secs(10),
        || mas.received().len() >= 2,
    );
    let received = mas.received();
    let gap = received[1].at - received[0].at;
    assert!(
        gap >= Duration::from_millis(300),
        "the timeout fired after {gap:?}"
    );
    assert_eq!(mdm.applied(), 1);
    let pending = server
        .command(&["deliveries", "list", "--state", "pending"])
        .unwrap();
    assert!(pending.contains("no answer within 300 ms"), "{pending}");
}

#[test]
fn a_target_down_during_1000_saves_is_probed_not_tried_per_delivery_and_then_gets_them_all_in_order()
 {
    let _heavy = heavy();
    let scratch = Scratch::new();
    let (mut mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    mas.down();
    let relay = "backoff_base_ms = 50\nbackoff_cap_ms = 1000\nmax_attempts = 1000";
    let ids = customers(50);
    let server = relaying_measured(
        &scratch,
        &ids,
        &targets(Some(&mas), Some(&mdm), 2_000, relay),
    );
    let down_since = Instant::now();
    // The first request pays the password hash (about a second in a debug
    // build); ten agents paying it at once would time out.
    assert_eq!(server.get_contacts(&ids[0]).status, 200);
    // Ten agents, each saving for its five customers in turn: the order of
    // each customer's updates is the order of its agent's Successes.
    let accepted: HashMap<String, Vec<String>> = thread::scope(|scope| {
        let agents: Vec<_> = ids
            .chunks(5)
            .map(|mine| {
                let server = &server;
                scope.spawn(move || {
                    let mut accepted: HashMap<String, Vec<String>> = HashMap::new();
                    for round in 0..20 {
                        for customer in mine {
                            let id = format!("c{customer}-{round}");
                            save(server, customer, &id, round);
                            accepted.entry(customer.clone()).or_default().push(id);
                        }
                    }
                    accepted
                })
            })
            .collect();
        agents
            .into_iter()
            .flat_map(|agent| agent.join().unwrap())
            .collect()
    });
    assert_eq!(accepted.values().map(Vec::len).sum::<usize>(), 1_000);
    wait_for("MDM, while MAS is down", Duration::from_secs(30), || {
        mdm.applied() == 1_000
    });
    assert_eq!(mas.received().len(), 0);
    let health = server.get("/healthz", &[]);
    assert_eq!(
        health.body["targets"]["MAS"]["pending"], 1_000,
        "{}",
        health.text
    );
    // The breaker: the first round's attempts (at most `concurrency`, 8),
    // then one probe per wait, each at least half the backoff's bound: 25,
    // 50, 100, 200, 400 ms, then 500 ms at the cap. Tried per delivery,
    // the 50 customers' heads would each be tried every 0.5 s on average.
    let metrics = server.scrape();
    let outage = down_since.elapsed();
    let attempts = metric(
        &metrics,
        "contacts_delivery_attempts_total",
        &["target=\"MAS\""],
    );
    let probes = 5.0 + (outage.as_secs_f64() / 0.5).ceil();
    assert!(
        attempts <= 8.0 + probes,
        "{attempts} attempts at MAS in {outage:?} of outage"
    );
    for (target, open) in [("MAS", 1.0), ("MDM", 0.0)] {
        let label = format!("target=\"{target}\"");
        assert_eq!(
            metric(&metrics, "contacts_delivery_target_open", &[&label]),
            open,
            "{target}\n{metrics}"
        );
    }
    println!("MAS: {attempts} attempts in {outage:.1?} of outage");

    mas.up().unwrap();
    let back = Instant::now();
    wait_for("MAS once it is back", Duration::from_secs(60), || {
        mas.applied() == 1_000
    });
    println!(
        "MAS: 1,000 deliveries in {:.1} s once back",
        back.elapsed().as_secs_f64()
    );
    assert_in_order(&mas, &accepted);
    assert_in_order(&mdm, &accepted);
    assert_eq!(mdm.received().len(), 1_000, "each sent once");
    assert_eq!(
        metric(
            &server.scrape(),
            "contacts_delivery_target_open",
            &["target=\"MAS\""]
        ),
        0.0,
        "closed once the probe was answered"
    );
}

#[test]
fn a_kill_during_delivery_loses_nothing_and_breaks_no_order() {
    let _heavy = heavy();
    let scratch = Scratch::new();
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    for receiver in [&mas, &mdm] {
        receiver.otherwise(Reply::Slow(Duration::from_millis(20)));
    }
    let relay = "backoff_base_ms = 50\nbackoff_cap_ms = 200\nconcurrency = 2";
    let ids = customers(10);
    let config = config_file(
        &scratch.0,
        &ids,
        &targets(Some(&mas), Some(&mdm), 1_000, relay),
    );
    let args = ["--config", config.to_str().unwrap()];
    // The updates are accepted first, without the relay, so that the kill
    // comes in the middle of their delivery.
    let server = SERVER.start(&scratch.0, &args);
    let mut accepted: HashMap<String, Vec<String>> = HashMap::new();
    for round in 0..20 {
        for customer in &ids {
            let id = format!("k{customer}-{round}");
            save(&server, customer, &id, round);
            accepted.entry(customer.clone()).or_default().push(id);
        }
    }
    drop(server);
    let mut server = SERVER.start_relaying(&scratch.0, &args);
    wait_for("some deliveries", Duration::from_secs(20), || {
        mas.received().len() >= 30
    });
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let before = (mas.received().len(), mdm.received().len());
    assert!(
        before.0 < 200 || before.1 < 200,
        "the kill came too late to test anything: {before:?}"
    );

    let server = SERVER.start_relaying(&scratch.0, &args);
    wait_for(
        "every update at both targets",
        Duration::from_secs(30),
        || mas.applied() == 200 && mdm.applied() == 200,
    );
    assert_in_order(&mas, &accepted);
    assert_in_order(&mdm, &accepted);
    drop(server);
}

#[test]
fn retention_prunes_what_expired_keeps_pending_and_dead_and_the_file_stops_growing() {
    let _heavy = heavy();
    let scratch = Scratch::new();
    let (mas, mdm) = (Receiver::start("MAS"), Receiver::start("MDM"));
    let relay = "backoff_base_ms = 50\nbackoff_cap_ms = 100";
    let retention = "[retention]\nidempotency_window = \"1s\"\ndelivered_retention = \"1s\"\naudit_retention = \"2s\"\ninterval = \"200ms\"\nbatch = 100\n";
    let ids = customers(20);
    let toml = format!("{}{retention}", targets(Some(&mas), Some(&mdm), 300, relay));
    let server = relaying(&scratch, &ids, &toml);

    // A steady load: four agents saving for ten seconds, and every two
    // seconds the pages in use (the file's size once the WAL is checkpointed
    // into it), and the two files' sizes as they are.
    let sizes = |db: &PathBuf| -> [u64; 3] {
        let size = |suffix: &str| {
            std::fs::metadata(format!("{}{suffix}", db.display())).map_or(0, |m| m.len())
        };
        let connection = rusqlite::Connection::open(db).unwrap();
        let pages: i64 = connection
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        let page_size: i64 = connection
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        [
            u64::try_from(pages * page_size).unwrap(),
            size(""),
            size("-wal"),
        ]
    };
    // The first save pays the password hash; the load starts after it.
    save(&server, &ids[0], "warm-up", 0);
    let load = Duration::from_secs(10);
    let started = Instant::now();
    let saves = AtomicUsize::new(0);
    let mut measured = Vec::new();
    thread::scope(|scope| {
        for agent in 0..4 {
            let (server, ids, saves) = (&server, &ids, &saves);
            scope.spawn(move || {
                let mut n = 0;
                while started.elapsed() < load {
                    save(
                        server,
                        &ids[(agent * 5 + n) % ids.len()],
                        &format!("load-{agent}-{n}"),
                        n,
                    );
                    saves.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            });
        }
        for at in (2..=10).step_by(2) {
            while started.elapsed() < Duration::from_secs(at) {
                thread::sleep(Duration::from_millis(50));
            }
            measured.push((
                at,
                saves.load(Ordering::Relaxed),
                sizes(&server.db.path().to_owned()),
            ));
        }
    });
    let saved = saves.into_inner();
    println!("retention under a steady load (windows of 1 s):");
    for (at, saves, [pages, file, wal]) in &measured {
        println!(
            "  at {at:2} s: {saves:5} saves; pages in use {pages:8} bytes; file {file:8} bytes; WAL {wal:8} bytes"
        );
    }
    // Without retention every save adds 4–5 KB. From 4 s to 10 s, once the
    // windows have passed, the pages in use grow by far less than the saves
    // in between would add (the machine's load sets how many there are).
    let ((_, saves_4, [at_4, ..]), (_, saves_10, [at_10, ..])) = (measured[1], measured[4]);
    let unpruned = (saves_10 - saves_4) as u64 * 4_000;
    assert!(
        at_10.saturating_sub(at_4) < unpruned / 4,
        "the database grew from {at_4} bytes at 4 s to {at_10} at 10 s over {} saves",
        saves_10 - saves_4
    );
    let delivered = count(
        &server.db,
        "SELECT count(*) FROM outbox WHERE state = 'delivered' AND ?1 = ?1",
        "",
    );
    assert!(
        delivered < 2 * saved as i64 / 2,
        "{delivered} delivered rows of {saved} saves are left"
    );

    // A dead (MAS refuses) and a pending (MDM never answers) delivery outlive
    // every window. The relay first catches up with the load.
    wait_for("the relay to catch up", Duration::from_secs(30), || {
        let health = server.get("/healthz", &[]);
        health.body["targets"]["MAS"]["pending"] == 0
            && health.body["targets"]["MDM"]["pending"] == 0
    });
    mas.script([Reply::Status(400, "no")]);
    mdm.otherwise(Reply::Hang);
    save(&server, &ids[0], "kept-1", 1);
    let db = server.db.clone();
    let rows = |sql: &str| count(&db, sql, "kept-1");
    wait_for(
        "the idempotency record and the audit row to go",
        Duration::from_secs(10),
        || {
            rows("SELECT count(*) FROM requests WHERE tracking_id = ?1") == 0
                && rows("SELECT count(*) FROM audit WHERE tracking_id = ?1") == 0
        },
    );
    assert_eq!(
        rows("SELECT count(*) FROM outbox WHERE tracking_id = ?1 AND state IN ('dead', 'pending')"),
        2
    );
    assert_eq!(
        rows("SELECT count(*) FROM outbox WHERE state = 'delivered' AND ?1 = ?1"),
        0,
        "the delivered rows of the load expired"
    );
    // After the window the tracking id may be used again.
    save(&server, &ids[1], "kept-1", 2);
}

/// An outage, again on PostgreSQL.
mod on_postgres {
    contacts_testkit::postgres_too!(
        a_target_down_during_1000_saves_is_probed_not_tried_per_delivery_and_then_gets_them_all_in_order,
    );
}
