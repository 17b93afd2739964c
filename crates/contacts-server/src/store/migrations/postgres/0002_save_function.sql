-- The contacts version each applied request produced: a replay answers with
-- the ETag of the first answer. Empty for requests applied before.
ALTER TABLE requests ADD COLUMN version BIGINT;

-- A save in one statement: one round trip and one durable commit, called
-- outside a transaction block. `result` is 'applied' (at `result_version`),
-- 'replayed' (the version the first answer gave, if known), 'reused',
-- 'unknown' or 'stale' (the current version); all but 'applied' write
-- nothing. Each statement below sees what committed before it began.
-- The customer's row is locked first, so that saves of one customer commit
-- one after the other, in the order of their outbox ids. Of two saves of one
-- tracking id, the second waits for the first's commit on that lock or on
-- the request record's key, then finds the record and is a replay.
CREATE FUNCTION contacts_save(
    p_source text, p_tracking_id text, p_user_name text, p_ezpay_id text,
    p_fingerprint text, p_profile_id text, p_if_match bigint, p_accepted_at timestamptz,
    p_types text[], p_names text[], p_organization_names text[], p_emails text[],
    p_work_phones text[], p_work_phone_extensions text[], p_mobile_phones text[],
    p_faxes text[], p_new_contacts text, p_payload text, p_targets text[],
    OUT result text, OUT result_version bigint)
LANGUAGE plpgsql AS $$
DECLARE
    locked_version bigint;
    earlier record;
BEGIN
    SELECT c.version INTO locked_version FROM customers c
    WHERE c.ezpay_id = p_ezpay_id FOR NO KEY UPDATE;
    IF FOUND AND (p_if_match IS NULL OR p_if_match = locked_version) THEN
        INSERT INTO requests (source, tracking_id, user_name, ezpay_id, fingerprint, created_at, version)
        VALUES (p_source, p_tracking_id, p_user_name, p_ezpay_id, p_fingerprint, p_accepted_at, locked_version + 1)
        ON CONFLICT (source, tracking_id) DO NOTHING;
        IF FOUND THEN
            -- The touched contacts as they were, for the audit trail, before
            -- they are written.
            INSERT INTO audit (tracking_id, ezpay_id, user_name, profile_id, source,
                               old_contacts, new_contacts, at)
            SELECT p_tracking_id, p_ezpay_id, p_user_name, p_profile_id, p_source,
                   coalesce(json_agg(json_strip_nulls(json_build_object(
                       'type', o.type, 'name', o.name,
                       'organization_name', o.organization_name, 'email', o.email,
                       'work_phone', o.work_phone,
                       'work_phone_extension', o.work_phone_extension,
                       'mobile_phone', o.mobile_phone, 'fax', o.fax)) ORDER BY o.type), '[]'),
                   p_new_contacts, p_accepted_at
            FROM contacts o WHERE o.ezpay_id = p_ezpay_id AND o.type = ANY (p_types);
            INSERT INTO contacts (ezpay_id, type, name, organization_name, email, work_phone,
                                  work_phone_extension, mobile_phone, fax)
            SELECT p_ezpay_id, * FROM unnest(p_types, p_names, p_organization_names, p_emails,
                p_work_phones, p_work_phone_extensions, p_mobile_phones, p_faxes)
            ON CONFLICT (ezpay_id, type) DO UPDATE SET
                name = excluded.name, organization_name = excluded.organization_name,
                email = excluded.email, work_phone = excluded.work_phone,
                work_phone_extension = excluded.work_phone_extension,
                mobile_phone = excluded.mobile_phone, fax = excluded.fax, updated_at = now();
            UPDATE customers SET version = locked_version + 1 WHERE ezpay_id = p_ezpay_id;
            INSERT INTO outbox (tracking_id, ezpay_id, target, payload, created_at)
            SELECT p_tracking_id, p_ezpay_id, t.target, p_payload, p_accepted_at
            FROM unnest(p_targets) WITH ORDINALITY AS t (target, n) ORDER BY t.n;
            result := 'applied';
            result_version := locked_version + 1;
            RETURN;
        END IF;
    END IF;
    -- Refused, or seen before: nothing is written. A tracking id seen before
    -- is answered as such whatever else is wrong with the request. (A record
    -- of another customer that another save is inserting right now is not
    -- waited for: this request is refused either way.)
    SELECT r.fingerprint, r.user_name, r.version INTO earlier FROM requests r
    WHERE r.source = p_source AND r.tracking_id = p_tracking_id;
    IF FOUND THEN
        -- Another user's request is never replayed to this one, even with
        -- the same body: it is not their request.
        IF earlier.fingerprint = p_fingerprint AND earlier.user_name = p_user_name THEN
            result := 'replayed';
            result_version := earlier.version;
        ELSE
            result := 'reused';
        END IF;
    ELSIF locked_version IS NULL THEN
        result := 'unknown';
    ELSIF p_if_match IS DISTINCT FROM locked_version THEN
        result := 'stale';
        result_version := locked_version;
    ELSE
        -- The record that kept this one out was pruned meanwhile.
        RAISE EXCEPTION 'the tracking id''s record changed while it was read'
            USING ERRCODE = 'serialization_failure';
    END IF;
END
$$;
