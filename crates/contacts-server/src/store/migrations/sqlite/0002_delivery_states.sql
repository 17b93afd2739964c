-- Delivery: the customer, the state and the claim on every outbox row, and
-- the body as sent. The idempotency records may now be pruned after their
-- window while deliveries and audit rows stay: those two tables no longer
-- reference requests (SQLite cannot drop a foreign key, so both are rebuilt),
-- and a tracking id may come back after the window.
CREATE TABLE outbox_v2 (
    id              INTEGER PRIMARY KEY,
    tracking_id     TEXT NOT NULL,
    ezpay_id        TEXT NOT NULL,
    target          TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'dead', 'discarded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0, -- Unix milliseconds
    claimed_by      TEXT,
    claimed_until   INTEGER NOT NULL DEFAULT 0, -- Unix milliseconds
    last_status     INTEGER,
    last_error      TEXT,
    finished_at     TEXT                        -- delivered or discarded
);
INSERT INTO outbox_v2 (id, tracking_id, ezpay_id, target, payload, created_at, state, finished_at)
SELECT o.id, o.tracking_id, r.ezpay_id, o.target,
       json_set(o.payload,
                '$.profile_id', (SELECT a.profile_id FROM audit a WHERE a.tracking_id = o.tracking_id),
                '$.user', (SELECT a.user_name FROM audit a WHERE a.tracking_id = o.tracking_id),
                '$.accepted_at', o.created_at),
       o.created_at,
       CASE WHEN o.delivered_at IS NULL THEN 'pending' ELSE 'delivered' END,
       o.delivered_at
FROM outbox o JOIN requests r ON r.tracking_id = o.tracking_id;
DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;
-- The head of each (customer, target) queue, and the rows due.
CREATE INDEX outbox_queue ON outbox (ezpay_id, target, id) WHERE state IN ('pending', 'dead');
CREATE INDEX outbox_due ON outbox (target, next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_finished ON outbox (finished_at) WHERE state IN ('delivered', 'discarded');

-- The audit trail also records operators' actions on deliveries.
CREATE TABLE audit_v2 (
    id           INTEGER PRIMARY KEY,
    action       TEXT NOT NULL DEFAULT 'update',
    tracking_id  TEXT NOT NULL,
    ezpay_id     TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    profile_id   TEXT,
    source       TEXT,
    old_contacts TEXT,
    new_contacts TEXT,
    detail       TEXT,
    at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO audit_v2 (id, tracking_id, ezpay_id, user_name, profile_id, source, old_contacts, new_contacts, at)
SELECT id, tracking_id, ezpay_id, user_name, profile_id, source, old_contacts, new_contacts, at FROM audit;
DROP TABLE audit;
ALTER TABLE audit_v2 RENAME TO audit;
CREATE INDEX audit_at ON audit (at);
CREATE INDEX requests_created_at ON requests (created_at);
