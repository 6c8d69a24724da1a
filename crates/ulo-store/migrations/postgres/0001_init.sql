CREATE TABLE users (
    id TEXT PRIMARY KEY,
    login_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    provisioned_by TEXT NOT NULL,
    risk_level TEXT NOT NULL,
    profile JSONB NOT NULL,
    password_hash TEXT,
    created BIGINT NOT NULL,
    activated BIGINT,
    status_changed BIGINT,
    last_updated BIGINT NOT NULL,
    password_changed BIGINT,
    last_login BIGINT
);

CREATE TABLE directory_groups (
    id TEXT PRIMARY KEY,
    name_key TEXT NOT NULL UNIQUE,
    profile JSONB NOT NULL,
    created BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    last_membership_updated BIGINT NOT NULL
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES directory_groups(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);

CREATE TABLE apps (
    id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    app_type TEXT NOT NULL,
    status TEXT NOT NULL,
    client_id TEXT UNIQUE,
    oidc JSONB,
    logout JSONB NOT NULL,
    provisioning JSONB,
    client_secret_hash TEXT,
    scim_token_sealed TEXT,
    created BIGINT NOT NULL,
    last_updated BIGINT NOT NULL
);

CREATE TABLE app_user_assignments (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX app_user_assignments_user ON app_user_assignments(user_id);

CREATE TABLE app_group_assignments (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES directory_groups(id) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    PRIMARY KEY (app_id, group_id)
);
CREATE INDEX app_group_assignments_group ON app_group_assignments(group_id);

CREATE TABLE admin_roles (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL,
    last_used BIGINT,
    revoked BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    state TEXT NOT NULL,
    private_sealed TEXT NOT NULL,
    public_jwk JSONB NOT NULL,
    created BIGINT NOT NULL,
    state_changed BIGINT
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value JSONB NOT NULL,
    updated BIGINT NOT NULL
);

CREATE TABLE log_events (
    uuid TEXT PRIMARY KEY,
    published BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    search TEXT NOT NULL,
    data JSONB NOT NULL
);
CREATE INDEX log_events_published ON log_events(published, uuid);
CREATE INDEX log_events_type ON log_events(event_type, published);
CREATE INDEX log_events_transaction ON log_events(transaction_id);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload JSONB NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    run_at BIGINT NOT NULL,
    deadline BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    finished BIGINT
);
CREATE INDEX jobs_due ON jobs(state, run_at);
CREATE INDEX jobs_lease ON jobs(state, lease_until);
