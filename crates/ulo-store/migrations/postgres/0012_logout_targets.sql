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
    SELECT l.id, t.ordinality - 1, t.value ->> 'status', t.value::text
    FROM logouts l, jsonb_array_elements(l.receipt::jsonb -> 'targets') WITH ORDINALITY AS t(value, ordinality);
UPDATE logouts SET receipt = jsonb_set(receipt::jsonb, '{targets}', '[]'::jsonb)::text;
