-- Shared Signals transmitter: receiver credentials per app, one stream per app (its
-- configuration as JSON), subjects a receiver added or removed, and SETs queued for polling.
CREATE TABLE ssf_credentials (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    token_prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL
);
CREATE TABLE ssf_streams (
    app_id TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    stream_id TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL
);
CREATE TABLE ssf_subjects (
    app_id TEXT NOT NULL REFERENCES ssf_streams(app_id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    included BOOLEAN NOT NULL,
    PRIMARY KEY (app_id, subject)
);
CREATE TABLE ssf_poll_sets (
    app_id TEXT NOT NULL REFERENCES ssf_streams(app_id) ON DELETE CASCADE,
    jti TEXT NOT NULL,
    seq BIGINT NOT NULL,
    set_jwt TEXT NOT NULL,
    delivery TEXT,
    created BIGINT NOT NULL,
    PRIMARY KEY (app_id, jti)
);
CREATE INDEX ssf_poll_sets_order ON ssf_poll_sets(app_id, seq);
