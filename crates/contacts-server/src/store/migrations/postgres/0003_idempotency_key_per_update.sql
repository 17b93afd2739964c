-- A key per update: each delivery keeps the Idempotency-Key it is sent with,
-- `{source}:{tracking id}:{eZpayID}.{version}:{TARGET}` (as the SQLite
-- engine's `Update::idempotency_key` writes it), and its body carries the
-- version; the deliveries queued before keep the key they had,
-- `{source}:{tracking id}:{TARGET}`.
ALTER TABLE outbox ADD COLUMN idempotency_key TEXT NOT NULL DEFAULT '';
UPDATE outbox
SET idempotency_key = coalesce(payload::json->>'source', '') || ':' || tracking_id || ':' || target
WHERE state IN ('pending', 'dead');
-- contacts_save inserts its outbox rows after it raised the customer's
-- version, in its transaction: each row takes that version here. The body is
-- a JSON object whose members are in the order of their names, so the
-- version goes last.
CREATE FUNCTION outbox_keyed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    reached bigint;
BEGIN
    IF NEW.idempotency_key = '' THEN
        SELECT c.version INTO STRICT reached FROM customers c WHERE c.ezpay_id = NEW.ezpay_id;
        NEW.payload := left(NEW.payload, -1) || ',"version":' || reached || '}';
        NEW.idempotency_key := (NEW.payload::json->>'source') || ':' || NEW.tracking_id || ':'
            || NEW.ezpay_id || '.' || reached || ':' || NEW.target;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER outbox_keyed BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_keyed();
