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
CREATE FUNCTION contacts_save_traced(
    p_source text, p_tracking_id text, p_user_name text, p_ezpay_id text,
    p_fingerprint text, p_profile_id text, p_if_match bigint, p_accepted_at timestamptz,
    p_types text[], p_names text[], p_organization_names text[], p_emails text[],
    p_work_phones text[], p_work_phone_extensions text[], p_mobile_phones text[],
    p_faxes text[], p_new_contacts text, p_payload text, p_targets text[],
    p_traceparent text,
    OUT result text, OUT result_version bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('contacts.traceparent', coalesce(p_traceparent, ''), true);
    SELECT s.result, s.result_version INTO result, result_version
    FROM contacts_save(p_source, p_tracking_id, p_user_name, p_ezpay_id, p_fingerprint,
        p_profile_id, p_if_match, p_accepted_at, p_types, p_names, p_organization_names,
        p_emails, p_work_phones, p_work_phone_extensions, p_mobile_phones, p_faxes,
        p_new_contacts, p_payload, p_targets) s;
    PERFORM set_config('contacts.traceparent', '', true);
END
$$;
