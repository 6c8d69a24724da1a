-- SCIM service provider: bearer credentials for HR systems (stored hashed) and the externalId
-- each SCIM client gave a user or group.
CREATE TABLE scim_credentials (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL,
    revoked BIGINT
);

CREATE TABLE scim_external_ids (
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    PRIMARY KEY (resource_type, resource_id)
);
