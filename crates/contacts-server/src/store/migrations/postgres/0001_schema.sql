-- `version`: the version of the customer's contacts, raised by every applied
-- update in its transaction; GET gives it as the ETag and a POST with
-- If-Match is applied only at it.
CREATE TABLE customers (
    ezpay_id TEXT PRIMARY KEY,
    status   TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'cancelled')),
    version  BIGINT NOT NULL DEFAULT 1
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
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (ezpay_id, type)
);
-- One row per applied request: the idempotency record. Tracking ids are
-- unique per source; the user is kept so that another user of the source
-- sending the same id is refused rather than answered with a replay.
CREATE TABLE requests (
    source      TEXT NOT NULL,
    tracking_id TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    ezpay_id    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (source, tracking_id)
);
CREATE INDEX requests_created_at ON requests (created_at);
CREATE TABLE audit (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action       TEXT NOT NULL DEFAULT 'update',
    tracking_id  TEXT NOT NULL,
    ezpay_id     TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    profile_id   TEXT,
    source       TEXT,
    old_contacts TEXT,
    new_contacts TEXT,
    detail       TEXT,
    at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_at ON audit (at);
-- Who read a customer, and who changed it, by customer and time.
CREATE INDEX audit_customer ON audit (ezpay_id, at);
CREATE INDEX audit_tracking_id ON audit (tracking_id);
CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tracking_id     TEXT NOT NULL,
    ezpay_id        TEXT NOT NULL,
    target          TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'dead', 'discarded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0, -- Unix milliseconds
    claimed_by      TEXT,
    claimed_until   BIGINT NOT NULL DEFAULT 0, -- Unix milliseconds
    last_status     INTEGER,
    last_error      TEXT,
    finished_at     TIMESTAMPTZ                -- delivered or discarded
);
CREATE INDEX outbox_tracking_id ON outbox (tracking_id);
-- The head of each (customer, target) queue, and the rows due.
CREATE INDEX outbox_queue ON outbox (ezpay_id, target, id) WHERE state IN ('pending', 'dead');
CREATE INDEX outbox_due ON outbox (target, next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_finished ON outbox (finished_at) WHERE state IN ('delivered', 'discarded');
