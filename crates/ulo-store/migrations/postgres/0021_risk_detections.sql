-- Risk detections about users (Identity Threat Protection). A detection counts while it is
-- active: `ended` (a reset) is NULL and `expires` is in the future. `reasons` is a JSON array
-- of strings. Times are Unix milliseconds. A user's detections go with the user.
CREATE TABLE risk_detections (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('LOW', 'MEDIUM', 'HIGH')),
    source TEXT NOT NULL,
    reasons TEXT NOT NULL,
    issuer TEXT,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    ended BIGINT
);
-- A user's detections newest first (the person's page, dedupe checks, pruning their history).
CREATE INDEX risk_detections_user ON risk_detections(user_id, created);
-- A user's active detections (their level; the riskLevel filter's subquery).
CREATE INDEX risk_detections_active ON risk_detections(user_id, expires) WHERE ended IS NULL;
-- Purging detections that stopped counting long ago.
CREATE INDEX risk_detections_stopped ON risk_detections((COALESCE(ended, expires)));
-- Users whose stored level is above LOW: the few an expiry sweep looks at.
CREATE INDEX users_at_risk ON users(risk_level) WHERE risk_level <> 'LOW';
