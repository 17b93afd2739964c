-- Reads of a customer's contacts are audited too (action 'read'): who read
-- a customer, and who changed it, by customer and time.
CREATE INDEX audit_customer ON audit (ezpay_id, at);
