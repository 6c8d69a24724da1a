-- API tokens limited to scopes (NULL: an unrestricted admin token, as before), and upstream
-- identity providers whose signed JWTs may call ulo's Global Token Revocation endpoint.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT;
CREATE TABLE upstream_idps (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    issuer TEXT NOT NULL UNIQUE,
    jwks TEXT NOT NULL,
    created BIGINT NOT NULL
);
