-- The W3C `traceparent` of the request that saved an update, kept with each
-- of its deliveries: the relay's attempts are spans of that trace, and send
-- it on to the target. NULL for the deliveries queued before.
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
