//! Customers, their contacts and their updates: outcomes, versions, the
//! audit rows, seeding.

use contacts_model::{ContactDraft, ContactType, Field, TrackingId, validate_contact};
use serde_json::{Value, json};

use super::Engine;
use super::fixtures::*;
use crate::store::{Customer, CustomerStatus, Outcome, Read};

pub(super) async fn the_audit_row_keeps_the_old_contacts_as_json(db: &dyn Engine) {
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

pub(super) async fn updates_are_applied_once_at_their_version(db: &dyn Engine) {
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

pub(super) async fn seeding_fills_only_a_customer_without_contacts(db: &dyn Engine) {
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
