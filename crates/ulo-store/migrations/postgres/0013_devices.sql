-- Device Logout: enrollment tokens (hashed, single-use), enrolled devices (the document in
-- `data`, status and created as columns to filter and page on), who signs in on which device,
-- and the commands issued to devices.
CREATE TABLE device_enrollment_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    used BIGINT,
    device_id TEXT
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'REVOKED')),
    created BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE device_users (
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    os_login TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (device_id, user_id)
);
CREATE INDEX device_users_user ON device_users(user_id);
-- No foreign key to users or logouts: a command, like a receipt, outlives the user.
CREATE TABLE device_commands (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('ISSUED', 'DELIVERED', 'SUCCEEDED', 'FAILED', 'EXPIRED')),
    expires BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX device_commands_open ON device_commands(device_id, status);
