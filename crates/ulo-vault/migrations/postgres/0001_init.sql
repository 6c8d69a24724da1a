-- The vault's store. Timestamps are Unix milliseconds, booleans 0/1, JSON as text: the same
-- SQL text runs on SQLite and PostgreSQL.

CREATE TABLE people (
    id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    user_name_key TEXT NOT NULL UNIQUE,
    external_id TEXT UNIQUE,
    email_key TEXT,
    active BIGINT NOT NULL,
    provisioned_by TEXT NOT NULL,
    resource TEXT NOT NULL,
    tokens_not_before BIGINT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX people_email ON people(email_key);

CREATE TABLE scim_groups (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    display_name_key TEXT NOT NULL UNIQUE,
    external_id TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES scim_groups(id) ON DELETE CASCADE,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, person_id)
);
CREATE INDEX group_members_person ON group_members(person_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    ended BIGINT,
    end_reason TEXT
);
CREATE INDEX sessions_person ON sessions(person_id);

CREATE TABLE oidc_logins (
    state_hash TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    verifier_sealed TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);

CREATE TABLE managed_apps (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    sign_in_url TEXT NOT NULL,
    connector_type TEXT NOT NULL,
    connector_url TEXT NOT NULL,
    connector_secret_sealed TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES managed_apps(id),
    username TEXT NOT NULL,
    password_sealed TEXT NOT NULL,
    candidate_sealed TEXT,
    policy TEXT NOT NULL,
    status TEXT NOT NULL,
    rotated_at BIGINT,
    rotation_error TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    UNIQUE (app_id, username)
);

CREATE TABLE shares (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    principal_type TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (account_id, principal_type, principal_id)
);
CREATE INDEX shares_principal ON shares(principal_type, principal_id);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    published BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    target_name TEXT,
    jti TEXT,
    outcome TEXT NOT NULL,
    reason TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_jti ON audit_events(jti);
CREATE INDEX audit_events_type ON audit_events(event_type);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    deadline BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(state, run_at);
CREATE INDEX jobs_subject ON jobs(kind, subject, state);
