-- A logout's targets get rows of their own, so recording one delivery writes one small row
-- instead of rewriting the whole receipt. Existing receipts move their targets over.
CREATE TABLE logout_targets (
    logout_id TEXT NOT NULL REFERENCES logouts(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    status TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (logout_id, position)
);
INSERT INTO logout_targets (logout_id, position, status, target)
    SELECT l.id, t.key, json_extract(t.value, '$.status'), t.value
    FROM logouts l, json_each(l.receipt, '$.targets') t;
UPDATE logouts SET receipt = json_set(receipt, '$.targets', json('[]'));
