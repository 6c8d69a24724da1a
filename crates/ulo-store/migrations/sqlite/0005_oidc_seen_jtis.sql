-- One-time JWT ids (e.g. private_key_jwt client assertions), kept until they expire so a
-- replay is refused on every node.
CREATE TABLE seen_jtis (
    namespace TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires BIGINT NOT NULL,
    PRIMARY KEY (namespace, jti)
);
CREATE INDEX seen_jtis_expires ON seen_jtis(expires);
