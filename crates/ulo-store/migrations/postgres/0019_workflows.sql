-- Workflows: signed webhooks ulo calls when a rule asks. The document in `data` (never the
-- secret), status and created as columns, and the signing secret sealed with the master key.
CREATE TABLE workflows (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
    created BIGINT NOT NULL,
    data TEXT NOT NULL,
    secret_sealed TEXT NOT NULL
);
