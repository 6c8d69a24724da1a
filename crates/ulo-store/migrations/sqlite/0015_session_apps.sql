-- Single logout: which apps each ulo session signed in to (an authorization code issued in that
-- session), so the session's end can send each back-channel app a logout token naming it.
CREATE TABLE session_apps (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    first_signed_in BIGINT NOT NULL,
    PRIMARY KEY (session_id, app_id)
);
CREATE INDEX session_apps_app ON session_apps(app_id);

-- The session sweep finds open sessions past their absolute end or idle timeout without
-- walking ended ones.
CREATE INDEX sessions_open_expires ON sessions(expires) WHERE ended IS NULL;
CREATE INDEX sessions_open_last_used ON sessions(last_used) WHERE ended IS NULL;
