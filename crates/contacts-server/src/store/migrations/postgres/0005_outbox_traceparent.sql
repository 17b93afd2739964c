-- The W3C `traceparent` of the request that saved an update, kept with each
-- of its deliveries: the relay's attempts are spans of that trace, and send
-- it on to the target. NULL for the deliveries queued before.
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
-- contacts_save (migration 2) writes the outbox rows; they take the trace
-- context from the transaction's setting `contacts.traceparent`, which
-- contacts_save_traced sets for the one save it makes (the setting ends with
-- its transaction: the statement).
ALTER TABLE outbox ALTER COLUMN traceparent
    SET DEFAULT nullif(current_setting('contacts.traceparent', true), '');
-- Its arguments are contacts_save's, in their order, then the traceparent.
CREATE FUNCTION contacts_save_traced(
    text, text, text, text, text, text, bigint, timestamptz,
    text[], text[], text[], text[], text[], text[], text[], text[], text, text, text[],
    p_traceparent text, OUT result text, OUT result_version bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('contacts.traceparent', coalesce(p_traceparent, ''), true);
    SELECT s.result, s.result_version INTO result, result_version
    FROM contacts_save($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                       $11, $12, $13, $14, $15, $16, $17, $18, $19) s;
    PERFORM set_config('contacts.traceparent', '', true);
END
$$;
