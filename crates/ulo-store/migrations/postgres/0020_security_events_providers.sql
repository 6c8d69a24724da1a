-- Security events providers (ulo as a Shared Signals receiver): the document in `data`, the
-- issuer a column of its own so a SET's `iss` finds its provider and no two share one. The
-- `jti`s of their SETs are remembered in seen_jtis (namespace `set:<provider id>`).
CREATE TABLE security_events_providers (
    id TEXT PRIMARY KEY,
    issuer TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL,
    data TEXT NOT NULL
);
