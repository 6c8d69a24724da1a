-- Universal Logout receipts: one row per logout, the receipt (targets and their answers) kept
-- as one JSON document that each delivery attempt rewrites under the row's lock.
CREATE TABLE logouts (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('IN_PROGRESS', 'COMPLETED', 'COMPLETED_WITH_FAILURES')),
    created BIGINT NOT NULL,
    completed BIGINT,
    receipt TEXT NOT NULL
);
-- No foreign key to users: a receipt outlives the user it logged out.
CREATE INDEX logouts_user ON logouts(user_id, id);
