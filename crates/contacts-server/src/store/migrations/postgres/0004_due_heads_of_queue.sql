-- Heads of queue found through an index: a pending delivery behind the head
-- of its (customer, target) queue waits with next_attempt_at = -1 (see
-- `BEHIND_ITS_HEAD`) until the one before it is delivered or discarded, so
-- that the claims and the next due time read only the heads, in the order
-- of their due times (`outbox_due`), however long the queues behind them.
UPDATE outbox o SET next_attempt_at = -1
WHERE o.state = 'pending' AND EXISTS (
    SELECT 1 FROM outbox e
    WHERE e.ezpay_id = o.ezpay_id AND e.target = o.target
      AND e.state IN ('pending', 'dead') AND e.id < o.id);
-- A new delivery waits behind an earlier one of its queue. The head is read
-- FOR SHARE: a relay recording it delivered at this moment is waited for,
-- and then either this row is seen by the record's release of the next one,
-- or the head is seen delivered and this row is due.
CREATE FUNCTION outbox_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM outbox e
    WHERE e.ezpay_id = NEW.ezpay_id AND e.target = NEW.target AND e.state IN ('pending', 'dead')
    ORDER BY e.id LIMIT 1 FOR SHARE;
    IF FOUND THEN
        NEW.next_attempt_at := -1;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER outbox_queued BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_queued();
-- A delivery discarded while it is being sent keeps its claim until the
-- attempt is recorded (or its lease runs out): the next of its queue waits.
CREATE INDEX outbox_discarded_claims ON outbox (claimed_until)
    WHERE state = 'discarded' AND claimed_by IS NOT NULL;
