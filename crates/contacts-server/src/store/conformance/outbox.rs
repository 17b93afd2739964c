//! The outbox: claims and the heads of queues, leases, records, the
//! operators' actions and their audit rows, pruning, the figures.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::Engine;
use super::fixtures::*;
use crate::store::{
    Attempted, DeliveryFilter, DeliveryState, Outcome, Prune, Pruned, Selection, TargetQueue,
    every_target, unix_millis,
};

pub(super) async fn claims_take_only_the_head_of_each_queue(db: &dyn Engine) {
    two_updates(db, A).await;
    applied(db, update("t3", B, "Third")).await;
    let now = SystemTime::now();

    let claimed = claims(db, "r1", "MAS", now).await;
    assert_eq!(
        tracking_ids(&claimed),
        ["t1", "t3"],
        "A's head and B's head"
    );
    let first = &claimed[0];
    assert_eq!(
        (
            first.ezpay_id.as_str(),
            first.target.as_str(),
            first.attempts
        ),
        (A, "MAS", 0)
    );
    let payload: Value = serde_json::from_str(&first.payload).expect("JSON");
    assert_eq!(
        (&payload["request_tracking_id"], &payload["ezpay_id"]),
        (&json!("t1"), &json!(A))
    );
    assert_eq!(
        first.traceparent.as_deref(),
        Some(TRACEPARENT),
        "the request's trace context is kept with its deliveries"
    );
    assert!(
        claims(db, "r2", "MAS", now).await.is_empty(),
        "claimed deliveries are leased"
    );
    assert_eq!(
        millis(db.next_due(vec!["MAS"]).await.expect("reads")),
        Some(unix_millis(now + LEASE)),
        "the heads are due again when their lease ends; t2 is not a head"
    );

    record(db, "r1", first.id, Attempted::Delivered { status: 200 }).await;
    let claimed = claims(db, "r1", "MAS", now).await;
    assert_eq!(
        tracking_ids(&claimed),
        ["t2"],
        "delivered, t1 lets t2 through"
    );

    let mut one = claim("r1", "MDM", now);
    one.limit = 1;
    let claimed = db.claim_due(one).await.expect("claims");
    assert_eq!(
        tracking_ids(&claimed),
        ["t1"],
        "the oldest within the limit"
    );
    assert_eq!(db.next_due(vec!["nowhere"]).await.expect("reads"), None);
}

pub(super) async fn a_lease_that_ran_out_passes_the_claim_on(db: &dyn Engine) {
    customers(db).await;
    applied(db, update("t1", A, "First")).await;
    let now = SystemTime::now();
    let at = |seconds| now + Duration::from_secs(seconds);
    let id = id_of(db, "t1", "MAS").await;

    assert_eq!(claims(db, "r1", "MAS", now).await.len(), 1);
    assert!(claims(db, "r2", "MAS", at(30)).await.is_empty());
    let taken = claims(db, "r2", "MAS", at(61)).await;
    assert_eq!(tracking_ids(&taken), ["t1"], "r1's lease ran out");

    record(db, "r1", id, Attempted::Delivered { status: 200 }).await;
    let listed = delivery(db, id).await;
    assert_eq!(
        (listed.state, listed.attempts),
        (DeliveryState::Pending, 0),
        "r1's record is ignored: the claim is r2's"
    );

    let error = "busy".to_owned();
    record(
        db,
        "r2",
        id,
        Attempted::Retry {
            at: at(200),
            status: Some(503),
            error,
        },
    )
    .await;
    let listed = delivery(db, id).await;
    assert_eq!(
        (
            listed.state,
            listed.attempts,
            listed.last_status,
            listed.last_error.as_deref()
        ),
        (DeliveryState::Pending, 1, Some(503), Some("busy"))
    );
    assert_eq!(
        millis(db.next_due(vec!["MAS"]).await.expect("reads")),
        Some(unix_millis(at(200)))
    );
    assert!(claims(db, "r1", "MAS", at(199)).await.is_empty());
    let again = claims(db, "r1", "MAS", at(200)).await;
    assert_eq!(again.iter().map(|d| d.attempts).collect::<Vec<_>>(), [1]);

    record(db, "r1", id, refused(Some(400))).await;
    applied(db, update("t2", A, "Second")).await;
    assert!(
        claims(db, "r1", "MAS", at(1000)).await.is_empty(),
        "a dead delivery holds back the later ones of its customer and target"
    );
    assert_eq!(db.next_due(vec!["MAS"]).await.expect("reads"), None);
}

/// The operators' actions in the audit trail, oldest first.
async fn operator_actions(db: &dyn Engine) -> Vec<Vec<Option<String>>> {
    db.texts(
        "SELECT action, tracking_id, ezpay_id, user_name, detail FROM audit
         WHERE action LIKE 'delivery.%' ORDER BY id",
    )
    .await
}

fn action(action: &str, tracking_id: &str, detail: String) -> Vec<Option<String>> {
    [action, tracking_id, A, "operator", &detail]
        .into_iter()
        .map(|text| Some(text.to_owned()))
        .collect()
}

pub(super) async fn retry_and_discard_are_audited(db: &dyn Engine) {
    let (t1, t1_mdm, t2) = two_updates(db, A).await;
    let now = SystemTime::now();
    claims(db, "r1", "MAS", now).await;
    record(db, "r1", t1, refused(Some(422))).await;
    claims(db, "r1", "MDM", now).await;
    record(db, "r1", t1_mdm, Attempted::Delivered { status: 204 }).await;
    let operator = || "operator".to_owned();

    for (selection, retried, what) in [
        (Selection::One(t2), 1, "a pending one, by id"),
        (Selection::AllDead, 1, "the dead one"),
        (Selection::One(t1_mdm), 0, "a delivered one"),
        (Selection::AllDead, 0, "no dead one is left"),
    ] {
        let count = db.retry(selection, operator()).await.expect("retries");
        assert_eq!(count, retried, "{what}");
    }
    let t1_listed = delivery(db, t1).await;
    assert_eq!(
        (t1_listed.state, t1_listed.attempts),
        (DeliveryState::Pending, 0)
    );

    assert!(db.discard(t1, operator()).await.expect("discards"));
    assert!(!db.discard(t1, operator()).await.expect("discards"), "once");
    assert!(
        !db.discard(t1_mdm, operator()).await.expect("discards"),
        "delivered"
    );
    let claimed = claims(db, "r1", "MAS", now).await;
    assert_eq!(
        tracking_ids(&claimed),
        ["t2"],
        "a discarded delivery holds back nothing"
    );

    assert_eq!(
        operator_actions(db).await,
        [
            action(
                "delivery.retry",
                "t2",
                format!("MAS delivery {t2} retried; last error: none")
            ),
            action(
                "delivery.retry",
                "t1",
                format!("MAS delivery {t1} retried; last error: refused")
            ),
            action(
                "delivery.discard",
                "t1",
                format!("MAS delivery {t1} discarded (it was pending)")
            ),
        ]
    );
    let discarded = db
        .deliveries(DeliveryFilter {
            state: Some(DeliveryState::Discarded),
            customer: Some(ezpay_id(A)),
            limit: 10,
        })
        .await
        .expect("lists");
    assert_eq!(discarded.iter().map(|d| d.id).collect::<Vec<_>>(), [t1]);
}

pub(super) async fn pruning_keeps_what_waits(db: &dyn Engine) {
    let (t1, t1_mdm, t2) = two_updates(db, B).await;
    let now = SystemTime::now();
    claims(db, "r1", "MAS", now).await;
    record(db, "r1", t1, Attempted::Delivered { status: 200 }).await;
    record(db, "r1", t2, refused(Some(400))).await;
    assert!(
        db.discard(t1_mdm, "operator".to_owned())
            .await
            .expect("discards")
    );
    // Left waiting: t2's MAS delivery (dead) and its MDM delivery (pending).
    let audit = count(db, "audit").await;
    assert_eq!(audit, 3, "two updates and a discard");

    let cutoff = |time| Prune {
        requests_before: time,
        deliveries_before: time,
        audit_before: time,
        batch: 1,
    };
    let past = now - Duration::from_secs(3600);
    assert_eq!(
        db.prune(cutoff(past)).await.expect("prunes"),
        Pruned::default()
    );
    let future = now + Duration::from_secs(3600);
    let one_each = Pruned {
        requests: 1,
        deliveries: 1,
        audit: 1,
    };
    assert_eq!(
        db.prune(cutoff(future)).await.expect("prunes"),
        one_each,
        "a batch of one"
    );
    assert_eq!(db.prune(cutoff(future)).await.expect("prunes"), one_each);
    let last = Pruned {
        requests: 0,
        deliveries: 0,
        audit: 1,
    };
    assert_eq!(db.prune(cutoff(future)).await.expect("prunes"), last);
    assert_eq!(
        db.prune(cutoff(future)).await.expect("prunes"),
        Pruned::default()
    );

    let left: Vec<(String, DeliveryState)> = all(db)
        .await
        .into_iter()
        .map(|d| (d.target, d.state))
        .collect();
    assert_eq!(
        left,
        [
            ("MAS".to_owned(), DeliveryState::Dead),
            ("MDM".to_owned(), DeliveryState::Pending)
        ],
        "pending and dead deliveries are never pruned"
    );
    assert_eq!(
        db.apply(update("t1", A, "First")).await.expect("applies"),
        Outcome::Applied(3),
        "a tracking id whose record was pruned is new again"
    );
}

pub(super) async fn attempt_counts_read_alike(db: &dyn Engine) {
    customers(db).await;
    applied(db, update("t1", A, "First")).await;
    let now = SystemTime::now();
    let attempts = async |stored: &str| {
        db.execute(&format!(
            "UPDATE outbox SET attempts = {stored}, claimed_by = NULL, claimed_until = 0"
        ))
        .await;
        let claimed = claims(db, "r1", "MAS", now).await;
        let listed = all(db).await;
        (claimed[0].attempts, listed[0].attempts)
    };
    assert_eq!(
        attempts("-1").await,
        (0, 0),
        "a negative count reads as none"
    );
    assert_eq!(attempts("0").await, (0, 0));
    assert_eq!(
        attempts("2147483647").await,
        (i32::MAX as u32, i32::MAX as u32)
    );
}

pub(super) async fn queue_counts_name_every_target(db: &dyn Engine) {
    let empty = |target: &str| TargetQueue {
        target: target.to_owned(),
        pending: 0,
        oldest_pending_age: None,
        dead: 0,
    };
    let now = SystemTime::now();
    let queues = db.target_queues(now).await.expect("reads");
    assert!(queues.is_empty());
    assert_eq!(every_target(queues), [empty("MAS"), empty("MDM")]);

    let (t1, _, _) = two_updates(db, B).await;
    claims(db, "r1", "MAS", now).await;
    record(db, "r1", t1, refused(None)).await;
    let later = SystemTime::now() + Duration::from_secs(10);
    let queues = every_target(db.target_queues(later).await.expect("reads"));
    let figures: Vec<(&str, u64, u64)> = queues
        .iter()
        .map(|q| (q.target.as_str(), q.pending, q.dead))
        .collect();
    assert_eq!(figures, [("MAS", 1, 1), ("MDM", 2, 0)]);
    for queue in &queues {
        let age = queue.oldest_pending_age.expect("an age");
        assert!(
            age >= Duration::from_secs(9) && age < Duration::from_secs(60),
            "{age:?}"
        );
    }
}

pub(super) async fn a_queue_waits_behind_its_head_and_each_update_has_its_key(db: &dyn Engine) {
    customers(db).await;
    let versions = [
        applied(db, update("t1", A, "First")).await,
        applied(db, update("t2", A, "Second")).await,
        applied(db, update("t3", A, "Third")).await,
    ];
    let waiting = db
        .texts("SELECT tracking_id, next_attempt_at FROM outbox WHERE target = 'MAS' ORDER BY id")
        .await;
    assert_eq!(
        waiting,
        [["t1", "0"], ["t2", "-1"], ["t3", "-1"]].map(|row| row.map(|text| Some(text.to_owned()))),
        "only the head is due; the others wait behind it"
    );
    let now = SystemTime::now();
    let head = claims(db, "r1", "MAS", now).await;
    assert_eq!(tracking_ids(&head), ["t1"]);
    let payload: Value = serde_json::from_str(&head[0].payload).expect("JSON");
    assert_eq!(
        payload["version"],
        json!(versions[0]),
        "the body carries the version"
    );
    assert_eq!(
        head[0].idempotency_key,
        format!("CAAG:t1:{A}.{}:MAS", versions[0]),
        "the key names the update"
    );

    // The record of the head and the claim of the next in one call: the
    // record releases t2, which the claim then takes.
    let next = db
        .record_and_claim(
            vec![(head[0].id, Attempted::Delivered { status: 200 })],
            claim("r1", "MAS", now),
        )
        .await
        .expect("records and claims");
    assert_eq!(tracking_ids(&next), ["t2"]);
    assert_eq!(
        next[0].idempotency_key,
        format!("CAAG:t2:{A}.{}:MAS", versions[1])
    );

    // Discarded while it is being sent, t2 keeps t3 waiting until its
    // attempt is recorded (the record itself is ignored: t2 stays discarded).
    assert!(
        db.discard(next[0].id, "operator".into())
            .await
            .expect("discards")
    );
    assert!(
        claims(db, "r2", "MAS", now).await.is_empty(),
        "t3 waits for t2's attempt"
    );
    assert_eq!(db.next_due(vec!["MAS"]).await.expect("reads"), None);
    record(db, "r1", next[0].id, Attempted::Delivered { status: 200 }).await;
    assert_eq!(
        delivery(db, next[0].id).await.state,
        DeliveryState::Discarded
    );
    let last = claims(db, "r2", "MAS", now).await;
    assert_eq!(tracking_ids(&last), ["t3"], "the attempt over, t3 goes");
}

/// PostgreSQL only, on one connection: a claim is planned at each run for
/// the outbox as it is, never by a generic plan costed on the outbox as it
/// was (`CLAIM_PLANNED_AT_EACH_RUN`, `postgres/outbox.rs`). Analysed while
/// small, the outbox would otherwise get one after five claims.
pub(super) async fn claims_are_planned_at_each_run(db: &dyn Engine) {
    customers(db).await;
    for i in 0..20 {
        applied(db, update(&format!("t{i}"), A, &format!("Name {i}"))).await;
    }
    db.execute("ANALYZE outbox").await;
    for _ in 0..8 {
        claims(db, "r1", "MAS", SystemTime::now()).await;
    }
    let plans = db
        .texts(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements
             WHERE statement LIKE 'WITH due AS%'",
        )
        .await;
    assert_eq!(
        plans,
        [[Some("0".to_owned()), Some("8".to_owned())]],
        "the claim's plans: generic, custom"
    );
}
