//! What the cases share: the customers, updates and claims they make, and
//! what they read back.

use std::time::{Duration, SystemTime};

use contacts_model::{EzpayId, RequestDraft, TrackingId, validate_request};
use serde_json::{Value, json};

use super::Engine;
use crate::store::{
    Attempted, ClaimRequest, ClaimedDelivery, CustomerStatus, DeliveryFilter, DeliveryRecord,
    Outcome, Update, unix_millis,
};

pub(super) const A: &str = "000010000005008";
pub(super) const B: &str = "000010000005009";
pub(super) const LEASE: Duration = Duration::from_secs(60);

pub(super) fn ezpay_id(id: &str) -> EzpayId {
    EzpayId::parse(id).expect("an eZpayID")
}

/// The customers `A` (active) and `B` (inactive).
pub(super) async fn customers(db: &dyn Engine) {
    db.put_customers(vec![
        (ezpay_id(A), CustomerStatus::Active),
        (ezpay_id(B), CustomerStatus::Inactive),
    ])
    .await
    .expect("customers");
}

/// The `traceparent` of the fixtures' updates.
pub(super) const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// An update of `customer` by `user` through the source CAAG.
pub(super) fn update_by(user: &str, tracking_id: &str, customer: &str, contacts: Value) -> Update {
    let draft = RequestDraft::from_value(&json!({ "contacts": contacts })).expect("a request");
    Update {
        tracking_id: TrackingId::parse(tracking_id).expect("a tracking id"),
        ezpay_id: ezpay_id(customer),
        user: user.to_owned(),
        profile_id: "CAAG_302".to_owned(),
        source: "CAAG".to_owned(),
        request: validate_request(&draft).expect("a valid request"),
        if_match: None,
        traceparent: TRACEPARENT.to_owned(),
    }
}

/// An update of `customer`'s billing contact to the name `name`.
pub(super) fn update(tracking_id: &str, customer: &str, name: &str) -> Update {
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
pub(super) async fn two_updates(db: &dyn Engine, second: &str) -> (i64, i64, i64) {
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
pub(super) async fn applied(db: &dyn Engine, update: Update) -> u64 {
    match db.apply(update).await.expect("applies") {
        Outcome::Applied(version) => version,
        other => panic!("not applied: {other:?}"),
    }
}

/// Claims `target`'s due deliveries for `owner` at `now`.
pub(super) async fn claims(
    db: &dyn Engine,
    owner: &str,
    target: &'static str,
    now: SystemTime,
) -> Vec<ClaimedDelivery> {
    db.claim_due(claim(owner, target, now))
        .await
        .expect("claims")
}

pub(super) fn claim(owner: &str, target: &'static str, now: SystemTime) -> ClaimRequest {
    ClaimRequest {
        owner: owner.into(),
        targets: vec![target],
        now,
        limit: 10,
        lease: LEASE,
    }
}

/// The tracking ids of claimed deliveries, in the order given.
pub(super) fn tracking_ids(claimed: &[ClaimedDelivery]) -> Vec<&str> {
    claimed.iter().map(|d| d.tracking_id.as_str()).collect()
}

/// Every delivery, oldest first.
pub(super) async fn all(db: &dyn Engine) -> Vec<DeliveryRecord> {
    db.deliveries(DeliveryFilter {
        limit: 100,
        ..DeliveryFilter::default()
    })
    .await
    .expect("lists")
}

/// The delivery `id`, as listed.
pub(super) async fn delivery(db: &dyn Engine, id: i64) -> DeliveryRecord {
    all(db)
        .await
        .into_iter()
        .find(|d| d.id == id)
        .expect("listed")
}

/// The id of the delivery of `tracking_id` to `target`.
pub(super) async fn id_of(db: &dyn Engine, tracking_id: &str, target: &str) -> i64 {
    all(db)
        .await
        .iter()
        .find(|d| d.tracking_id == tracking_id && d.target == target)
        .map(|d| d.id)
        .expect("the delivery")
}

pub(super) async fn record(db: &dyn Engine, owner: &str, id: i64, attempted: Attempted) {
    db.record(owner.into(), vec![(id, attempted)])
        .await
        .expect("records");
}

/// Given up after a refusal.
pub(super) fn refused(status: Option<u16>) -> Attempted {
    Attempted::Dead {
        status,
        error: "refused".to_owned(),
    }
}

pub(super) fn millis(time: Option<SystemTime>) -> Option<i64> {
    time.map(unix_millis)
}

pub(super) async fn count(db: &dyn Engine, table: &str) -> usize {
    let rows = db
        .texts(&format!("SELECT CAST(count(*) AS TEXT) FROM {table}"))
        .await;
    rows[0][0]
        .as_deref()
        .and_then(|n| n.parse().ok())
        .expect("a count")
}

/// The stored contacts of `customer`, as JSON.
pub(super) async fn stored(db: &dyn Engine, customer: &str) -> Vec<Value> {
    db.contacts(ezpay_id(customer))
        .await
        .expect("reads")
        .iter()
        .map(|c| serde_json::to_value(c).expect("JSON"))
        .collect()
}
