CREATE TABLE customers (
    ezpay_id TEXT PRIMARY KEY,
    status   TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'cancelled'))
);
CREATE TABLE contacts (
    ezpay_id             TEXT NOT NULL REFERENCES customers (ezpay_id),
    type                 TEXT NOT NULL CHECK (type IN ('billing', 'service')),
    name                 TEXT NOT NULL,
    organization_name    TEXT,
    email                TEXT,
    work_phone           TEXT,
    work_phone_extension TEXT,
    mobile_phone         TEXT,
    fax                  TEXT,
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (ezpay_id, type)
);
-- One row per applied request: the idempotency record.
CREATE TABLE requests (
    tracking_id TEXT PRIMARY KEY,
    ezpay_id    TEXT NOT NULL REFERENCES customers (ezpay_id),
    fingerprint TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE audit (
    id           INTEGER PRIMARY KEY,
    tracking_id  TEXT NOT NULL REFERENCES requests (tracking_id),
    ezpay_id     TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    profile_id   TEXT NOT NULL,
    source       TEXT NOT NULL,
    old_contacts TEXT NOT NULL,
    new_contacts TEXT NOT NULL,
    at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    tracking_id  TEXT NOT NULL REFERENCES requests (tracking_id),
    target       TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    delivered_at TEXT,
    UNIQUE (tracking_id, target)
);
CREATE INDEX outbox_undelivered ON outbox (id) WHERE delivered_at IS NULL;
