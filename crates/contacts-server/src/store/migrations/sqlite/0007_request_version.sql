-- The contacts version each applied request produced: a replay answers with
-- the ETag of the first answer. Empty for requests applied before.
ALTER TABLE requests ADD COLUMN version INTEGER;
