-- Tracking ids are unique per source, not globally: the idempotency key is
-- (source, tracking id), and the user is kept so that another user of the
-- source sending the same id is refused rather than answered with a replay.
-- Existing records take the source and user of their update's audit row.
CREATE TABLE requests_v2 (
    source      TEXT NOT NULL,
    tracking_id TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    ezpay_id    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (source, tracking_id)
);
INSERT INTO requests_v2 (source, tracking_id, user_name, ezpay_id, fingerprint, created_at)
SELECT coalesce(a.source, ''), r.tracking_id, coalesce(a.user_name, ''), r.ezpay_id, r.fingerprint, r.created_at
FROM requests r
LEFT JOIN audit a ON a.id = (
    SELECT max(id) FROM audit WHERE tracking_id = r.tracking_id AND action = 'update'
);
DROP TABLE requests;
ALTER TABLE requests_v2 RENAME TO requests;
CREATE INDEX requests_created_at ON requests (created_at);
