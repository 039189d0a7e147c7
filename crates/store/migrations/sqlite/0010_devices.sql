-- Enrolled devices and their posture (sqlite flavour; keep in step with
-- the other backend's 0010_devices.sql).

-- The device a web session or API token is linked to (NULL: none yet).
ALTER TABLE sessions ADD COLUMN device_id TEXT;

-- The workspace's posture policy: CHECK=LABEL pairs (NULL: the default)
-- and how many hours a report counts.
ALTER TABLE workspaces ADD COLUMN posture_requirements TEXT;
ALTER TABLE workspaces ADD COLUMN posture_max_age_hours INTEGER;

-- A person's computer with its own Ed25519 key, and its latest verified
-- posture report (the agent's JSON, which holds no customer data).
CREATE TABLE devices (
    id            TEXT    NOT NULL PRIMARY KEY,
    workspace_id  TEXT    NOT NULL REFERENCES workspaces (id),
    person_id     TEXT    NOT NULL REFERENCES people (id),
    name          TEXT    NOT NULL,
    os            TEXT    NOT NULL,
    public_key    BLOB    NOT NULL UNIQUE,
    enrolled_at   INTEGER NOT NULL,
    revoked_at    BIGINT,
    revoke_reason TEXT,
    report_seq    INTEGER NOT NULL DEFAULT 0,
    checked_at    BIGINT,
    received_at   BIGINT,
    report        TEXT
);
CREATE INDEX devices_person ON devices (workspace_id, person_id);

-- One-time enrollment codes the owner made (SHA-256 of the code only).
CREATE TABLE device_enrollments (
    code_hash    BLOB    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    person_id    TEXT    NOT NULL REFERENCES people (id),
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      BIGINT,
    device_id    TEXT
);

-- One-time codes a session shows so that its device can claim it
-- (SHA-256 of the code only).
CREATE TABLE device_links (
    code_hash    BLOB    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    session_hash BLOB    NOT NULL,
    person_id    TEXT    NOT NULL REFERENCES people (id),
    expires_at   INTEGER NOT NULL
);
