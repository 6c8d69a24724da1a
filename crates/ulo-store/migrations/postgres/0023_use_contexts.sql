-- Session influence: the context each sign-in session (kind SESSION) and refresh-token family
-- (kind GRANT) began in (origin), and each other context it was used in since, recorded once.
-- `network` is the address's IPv4 /24 or IPv6 /64 ('' when the address is unknown), `client`
-- the user-agent family. Nothing here is a secret: no token, no cookie.
CREATE TABLE use_contexts (
    kind TEXT NOT NULL CHECK (kind IN ('SESSION', 'GRANT')),
    subject_id TEXT NOT NULL,
    network TEXT NOT NULL,
    client TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address TEXT,
    origin BOOLEAN NOT NULL,
    seen BIGINT NOT NULL,
    PRIMARY KEY (kind, subject_id, network, client)
);
-- One beginning per session or family.
CREATE UNIQUE INDEX use_contexts_origin ON use_contexts(kind, subject_id) WHERE origin;
CREATE INDEX use_contexts_user ON use_contexts(user_id);
