-- Concurrent edits: the version of each customer's contacts, raised by every
-- applied update in its transaction; GET gives it as the ETag and a POST with
-- If-Match is applied only at it.
ALTER TABLE customers ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
