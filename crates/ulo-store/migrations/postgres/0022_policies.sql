-- Policies (the Entity Risk Policy: one per type, so `type` is unique and two nodes starting
-- at once create it once) and their rules. A rule's conditions and actions are JSON documents
-- in Okta's shape; priorities are unique within a policy (1, 2, … for custom rules, 99 for the
-- default rule), reordered under a lock on the policy's row. Times are Unix milliseconds.
CREATE TABLE policies (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL,
    system BOOLEAN NOT NULL,
    created BIGINT NOT NULL,
    last_updated BIGINT NOT NULL
);
CREATE TABLE policy_rules (
    id TEXT PRIMARY KEY,
    policy_id TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    priority INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
    mode TEXT NOT NULL CHECK (mode IN ('ENFORCE', 'MONITOR')),
    system BOOLEAN NOT NULL,
    conditions TEXT NOT NULL,
    actions TEXT NOT NULL,
    created BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    UNIQUE (policy_id, priority)
);
