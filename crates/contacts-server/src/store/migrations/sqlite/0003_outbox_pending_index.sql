-- A claim takes a target's oldest pending deliveries that head their queue:
-- read in id order, it stops at the first ones it finds instead of sorting
-- every pending row. The due time is checked row by row, so its index goes.
DROP INDEX outbox_due;
CREATE INDEX outbox_pending ON outbox (target, id) WHERE state = 'pending';
