-- The jti of every Universal Logout request the vault accepted, until the request's token could
-- no longer be accepted anyway (its exp plus the leeway): a request captured and replayed after
-- a restart, or to another vault process on the same database, is refused. The primary key
-- decides between concurrent deliveries of the same request. Timestamps are Unix milliseconds.

CREATE TABLE seen_jtis (
    jti TEXT PRIMARY KEY,
    expires BIGINT NOT NULL
);
CREATE INDEX seen_jtis_expires ON seen_jtis(expires);
