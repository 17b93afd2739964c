-- Heads of queue found through an index: a pending delivery behind the head
-- of its (customer, target) queue waits with next_attempt_at = -1 (see
-- `BEHIND_ITS_HEAD`) until the one before it is delivered or discarded, so
-- that the claims and the next due time read only the heads, in the order
-- of their due times, however long the queues behind them.
CREATE INDEX outbox_due_heads ON outbox (target, next_attempt_at) WHERE state = 'pending';
UPDATE outbox SET next_attempt_at = -1
WHERE state = 'pending' AND EXISTS (
    SELECT 1 FROM outbox e
    WHERE e.ezpay_id = outbox.ezpay_id AND e.target = outbox.target
      AND e.state IN ('pending', 'dead') AND e.id < outbox.id);
-- A delivery discarded while it is being sent keeps its claim until the
-- attempt is recorded (or its lease runs out): the next of its queue waits.
CREATE INDEX outbox_discarded_claims ON outbox (claimed_until)
    WHERE state = 'discarded' AND claimed_by IS NOT NULL;
