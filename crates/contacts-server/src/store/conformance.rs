//! The [`Store`] contract, one list of cases run on every engine: the
//! `conformance!` list at the end makes each case a test on SQLite and a
//! test on PostgreSQL, so that an engine that drifts from the other fails a
//! fast test. The cases speak through the trait; only what the trait does
//! not show (audit rows, a count set by hand) goes through
//! [`Engine::execute`] and [`Engine::texts`], in SQL both dialects read alike.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use contacts_model::{
    ContactDraft, ContactType, EzpayId, Field, RequestDraft, TrackingId, validate_contact,
    validate_request,
};
use serde_json::{Value, json};

use super::{
    Attempted, ClaimRequest, ClaimedDelivery, Customer, CustomerStatus, DeliveryFilter,
    DeliveryRecord, DeliveryState, Outcome, Prune, Pruned, Read, Selection, Store, TargetQueue,
    Update, every_target, unix_millis,
};

/// An engine under test: the store, and a look at its rows.
#[async_trait]
pub(super) trait Engine: Store {
    /// Runs statements (panics where they fail: a test's own SQL).
    async fn execute(&self, sql: &str);

    /// The rows of a query, every column as text (NULL as `None`).
    async fn texts(&self, sql: &str) -> Vec<Vec<Option<String>>>;
}

const A: &str = "000010000005008";
const B: &str = "000010000005009";
const LEASE: Duration = Duration::from_secs(60);

fn ezpay_id(id: &str) -> EzpayId {
    EzpayId::parse(id).expect("an eZpayID")
}

/// The customers `A` (active) and `B` (inactive).
async fn customers(db: &dyn Engine) {
    db.put_customers(vec![
        (ezpay_id(A), CustomerStatus::Active),
        (ezpay_id(B), CustomerStatus::Inactive),
    ])
    .await
    .expect("customers");
}

/// An update of `customer` by `user` through the source CAAG.
fn update_by(user: &str, tracking_id: &str, customer: &str, contacts: Value) -> Update {
    let draft = RequestDraft::from_value(&json!({ "contacts": contacts })).expect("a request");
    Update {
        tracking_id: TrackingId::parse(tracking_id).expect("a tracking id"),
        ezpay_id: ezpay_id(customer),
        user: user.to_owned(),
        profile_id: "CAAG_302".to_owned(),
        source: "CAAG".to_owned(),
        request: validate_request(&draft).expect("a valid request"),
        if_match: None,
    }
}

/// An update of `customer`'s billing contact to the name `name`.
fn update(tracking_id: &str, customer: &str, name: &str) -> Update {
    update_by(
        "agent",
        tracking_id,
        customer,
        json!([{ "type": "billing", "name": name }]),
    )
}

/// The customers, with an update of `A` (tracking id `t1`) and then one of
/// `second` (`t2`); the ids of t1's deliveries to MAS and MDM and of t2's to
/// MAS.
async fn two_updates(db: &dyn Engine, second: &str) -> (i64, i64, i64) {
    customers(db).await;
    applied(db, update("t1", A, "First")).await;
    applied(db, update("t2", second, "Second")).await;
    (
        id_of(db, "t1", "MAS").await,
        id_of(db, "t1", "MDM").await,
        id_of(db, "t2", "MAS").await,
    )
}

/// Applies an update that must be applied.
async fn applied(db: &dyn Engine, update: Update) -> u64 {
    match db.apply(update).await.expect("applies") {
        Outcome::Applied(version) => version,
        other => panic!("not applied: {other:?}"),
    }
}

/// Claims `target`'s due deliveries for `owner` at `now`.
async fn claims(
    db: &dyn Engine,
    owner: &str,
    target: &'static str,
    now: SystemTime,
) -> Vec<ClaimedDelivery> {
    db.claim_due(claim(owner, target, now))
        .await
        .expect("claims")
}

fn claim(owner: &str, target: &'static str, now: SystemTime) -> ClaimRequest {
    ClaimRequest {
        owner: owner.into(),
        targets: vec![target],
        now,
        limit: 10,
        lease: LEASE,
    }
}

/// The tracking ids of claimed deliveries, in the order given.
fn tracking_ids(claimed: &[ClaimedDelivery]) -> Vec<&str> {
    claimed.iter().map(|d| d.tracking_id.as_str()).collect()
}

/// Every delivery, oldest first.
async fn all(db: &dyn Engine) -> Vec<DeliveryRecord> {
    db.deliveries(DeliveryFilter {
        limit: 100,
        ..DeliveryFilter::default()
    })
    .await
    .expect("lists")
}

/// The delivery `id`, as listed.
async fn delivery(db: &dyn Engine, id: i64) -> DeliveryRecord {
    all(db)
        .await
        .into_iter()
        .find(|d| d.id == id)
        .expect("listed")
}

/// The id of the delivery of `tracking_id` to `target`.
async fn id_of(db: &dyn Engine, tracking_id: &str, target: &str) -> i64 {
    all(db)
        .await
        .iter()
        .find(|d| d.tracking_id == tracking_id && d.target == target)
        .map(|d| d.id)
        .expect("the delivery")
}

async fn record(db: &dyn Engine, owner: &str, id: i64, attempted: Attempted) {
    db.record(owner.into(), vec![(id, attempted)])
        .await
        .expect("records");
}

/// Given up after a refusal.
fn refused(status: Option<u16>) -> Attempted {
    Attempted::Dead {
        status,
        error: "refused".to_owned(),
    }
}

fn millis(time: Option<SystemTime>) -> Option<i64> {
    time.map(unix_millis)
}

async fn claims_take_only_the_head_of_each_queue(db: &dyn Engine) {
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

async fn a_lease_that_ran_out_passes_the_claim_on(db: &dyn Engine) {
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

async fn retry_and_discard_are_audited(db: &dyn Engine) {
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

async fn count(db: &dyn Engine, table: &str) -> usize {
    let rows = db
        .texts(&format!("SELECT CAST(count(*) AS TEXT) FROM {table}"))
        .await;
    rows[0][0]
        .as_deref()
        .and_then(|n| n.parse().ok())
        .expect("a count")
}

async fn pruning_keeps_what_waits(db: &dyn Engine) {
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

async fn the_audit_row_keeps_the_old_contacts_as_json(db: &dyn Engine) {
    customers(db).await;
    let billing = json!({
        "type": "billing", "name": "Ann Lee", "email": "ANN@EXAMPLE.COM",
        "work_phone": "9147212006", "work_phone_extension": "12"
    });
    let service = json!({ "type": "service", "name": "Bo Ek", "fax": "9147212007" });
    applied(db, update_by("agent", "t1", A, json!([billing, service]))).await;
    applied(db, update("t2", A, "Cy Ode")).await;
    db.record_read(Read {
        tracking_id: TrackingId::parse("r1").expect("a tracking id"),
        ezpay_id: ezpay_id(A),
        user: "reader".to_owned(),
        profile_id: "CAAG_302".to_owned(),
        source: "CAAG".to_owned(),
    })
    .await
    .expect("records the read");

    let rows = db
        .texts(
            "SELECT action, tracking_id, user_name, profile_id, source, old_contacts, new_contacts
             FROM audit ORDER BY id",
        )
        .await;
    // Text columns as text, JSON columns as the values they hold.
    let seen: Vec<Vec<Value>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(column, text)| match (column, text.as_deref()) {
                    (5 | 6, Some(text)) => serde_json::from_str(text).expect("JSON"),
                    (_, text) => json!(text),
                })
                .collect()
        })
        .collect();
    let cy = json!({ "type": "billing", "name": "Cy Ode" });
    let by = |action, tracking_id, user, old: Value, new: Value| {
        vec![
            json!(action),
            json!(tracking_id),
            json!(user),
            json!("CAAG_302"),
            json!("CAAG"),
            old,
            new,
        ]
    };
    assert_eq!(
        seen,
        [
            by(
                "update",
                "t1",
                "agent",
                json!([]),
                json!([billing, service])
            ),
            by("update", "t2", "agent", json!([billing]), json!([cy])),
            by("read", "r1", "reader", Value::Null, Value::Null),
        ],
        "the touched contacts as they were, without their empty fields"
    );
    assert_eq!(stored(db, A).await, [cy, service], "billing first");
}

async fn attempt_counts_read_alike(db: &dyn Engine) {
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

async fn queue_counts_name_every_target(db: &dyn Engine) {
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

async fn updates_are_applied_once_at_their_version(db: &dyn Engine) {
    customers(db).await;
    assert_eq!(
        db.customer(ezpay_id(A)).await.expect("reads"),
        Some(Customer {
            status: CustomerStatus::Active,
            version: 1
        })
    );
    assert_eq!(applied(db, update("t1", A, "First")).await, 2);
    let outcome = |update| async move { db.apply(update).await.expect("applies") };
    assert_eq!(
        outcome(update("t1", A, "First")).await,
        Outcome::Replayed(Some(2))
    );
    assert_eq!(
        outcome(update("t1", A, "Other")).await,
        Outcome::TrackingIdReused
    );
    let by_another = update_by(
        "other",
        "t1",
        A,
        json!([{ "type": "billing", "name": "First" }]),
    );
    assert_eq!(outcome(by_another).await, Outcome::TrackingIdReused);
    assert_eq!(
        outcome(update("t2", "000010000009999", "X")).await,
        Outcome::UnknownCustomer
    );
    let mut stale = update("t3", A, "Third");
    stale.if_match = Some(1);
    assert_eq!(outcome(stale).await, Outcome::Stale(2));
    let mut current = update("t3", A, "Third");
    current.if_match = Some(2);
    assert_eq!(outcome(current).await, Outcome::Applied(3));
    assert_eq!(
        count(db, "outbox").await,
        4,
        "two targets for each applied update"
    );
    assert_eq!(
        db.customer(ezpay_id(B)).await.expect("reads"),
        Some(Customer {
            status: CustomerStatus::Inactive,
            version: 1
        })
    );
    db.put_customers(vec![(ezpay_id(A), CustomerStatus::Cancelled)])
        .await
        .expect("customers");
    assert_eq!(
        db.customer(ezpay_id(A)).await.expect("reads"),
        Some(Customer {
            status: CustomerStatus::Cancelled,
            version: 3
        }),
        "a status changes; the contacts' version stays"
    );
}

/// The stored contacts of `customer`, as JSON.
async fn stored(db: &dyn Engine, customer: &str) -> Vec<Value> {
    db.contacts(ezpay_id(customer))
        .await
        .expect("reads")
        .iter()
        .map(|c| serde_json::to_value(c).expect("JSON"))
        .collect()
}

async fn seeding_fills_only_a_customer_without_contacts(db: &dyn Engine) {
    customers(db).await;
    applied(db, update("t1", A, "First")).await;
    let seed = |name: &str| {
        let mut draft = ContactDraft::new(ContactType::Service);
        draft.set(Field::Name, name);
        vec![
            validate_contact(&draft)
                .expect("a valid contact")
                .into_inner(),
        ]
    };
    db.seed_contacts(ezpay_id(A), seed("Seed"))
        .await
        .expect("seeds");
    db.seed_contacts(ezpay_id(B), seed("Seed"))
        .await
        .expect("seeds");
    db.seed_contacts(ezpay_id(B), seed("Again"))
        .await
        .expect("seeds");
    let first = json!({ "type": "billing", "name": "First" });
    assert_eq!(stored(db, A).await, [first], "A has contacts already");
    let seeded = json!({ "type": "service", "name": "Seed" });
    assert_eq!(stored(db, B).await, [seeded], "seeded once");
}

/// Makes each case a test on each engine.
macro_rules! conformance {
    ($($case:ident),+ $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let engine = super::sqlite::Scratch::open(stringify!($case)).await;
                    super::$case(&*engine.store).await;
                }
            )+
        }

        mod on_postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let engine = super::postgres::Scratch::open().await;
                    super::$case(&*engine.store).await;
                }
            )+
        }
    };
}

conformance!(
    claims_take_only_the_head_of_each_queue,
    a_lease_that_ran_out_passes_the_claim_on,
    retry_and_discard_are_audited,
    pruning_keeps_what_waits,
    the_audit_row_keeps_the_old_contacts_as_json,
    attempt_counts_read_alike,
    queue_counts_name_every_target,
    updates_are_applied_once_at_their_version,
    seeding_fills_only_a_customer_without_contacts,
);

/// The SQLite engine on a new file for each case.
mod sqlite {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::super::SqliteStore;

    /// A store on a database file of its own, removed when dropped.
    pub(super) struct Scratch {
        pub store: Arc<SqliteStore>,
        dir: PathBuf,
    }

    impl Scratch {
        pub async fn open(case: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "contacts-conformance-{case}-{}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("a folder");
            let store = SqliteStore::open(&dir.join("store.sqlite"), None)
                .await
                .expect("opens");
            Self {
                store: Arc::new(store),
                dir,
            }
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The PostgreSQL engine on a new database for each case, on a throwaway
/// server that the cases running at the same time share: started by the
/// first, stopped and removed after the last.
mod postgres {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, PoisonError, Weak};

    use contacts_testkit::postgres::Cluster;

    use super::super::{PoolSettings, PostgresStore};

    pub(super) struct Scratch {
        pub store: Arc<PostgresStore>,
        /// Keeps the server running while the case runs.
        _server: Arc<Cluster>,
    }

    fn shared_server() -> Arc<Cluster> {
        static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        shared.upgrade().unwrap_or_else(|| {
            let server = Arc::new(Cluster::start(false).expect("a PostgreSQL server starts"));
            *shared = Arc::downgrade(&server);
            server
        })
    }

    impl Scratch {
        pub async fn open() -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let server = shared_server();
            let name = format!("conformance_{}", NEXT.fetch_add(1, Ordering::Relaxed));
            let url = server.create_database(&name).expect("a database");
            let store = PostgresStore::open(&url, &PoolSettings::default())
                .await
                .expect("opens");
            Self {
                store: Arc::new(store),
                _server: server,
            }
        }
    }
}
