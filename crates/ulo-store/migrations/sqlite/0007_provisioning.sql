-- Provisioning to apps: one link per (app, user) with the id the app's SCIM server gave the
-- user (the `sub` of iss_sub logout requests), what ulo wants there, and how the last push went.
CREATE TABLE app_user_links (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    remote_id TEXT,
    state TEXT NOT NULL CHECK (state IN ('PENDING', 'SYNCED', 'DEACTIVATED', 'ERROR')),
    desired TEXT NOT NULL CHECK (desired IN ('ACTIVE', 'INACTIVE')),
    last_error TEXT,
    last_status BIGINT,
    last_synced BIGINT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX app_user_links_user ON app_user_links(user_id);
