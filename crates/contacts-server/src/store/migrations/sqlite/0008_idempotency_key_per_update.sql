-- A key per update: each delivery keeps the Idempotency-Key it is sent with,
-- which names the accepted update (see `Update::idempotency_key`); the
-- deliveries queued before keep the key they had, `{source}:{tracking id}:{TARGET}`.
ALTER TABLE outbox ADD COLUMN idempotency_key TEXT NOT NULL DEFAULT '';
UPDATE outbox
SET idempotency_key = coalesce(json_extract(payload, '$.source'), '') || ':' || tracking_id || ':' || target
WHERE state IN ('pending', 'dead');
