-- The columns of a jobs table that the shared claim and lease statements use (each store's
-- table has these and more).
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    updated BIGINT NOT NULL
);
