-- The gates in front of every confidential item (postgres flavour; keep in
-- step with the other backend's 0007_gates.sql): agreements (NDA and
-- handbook versions) and their signatures, day passcodes (Argon2id hashes
-- only), the items a passcode has unlocked today, and the workspace's
-- business day (its time zone and the minute the day ends).

ALTER TABLE workspaces ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE workspaces ADD COLUMN day_ends_at INTEGER NOT NULL DEFAULT 1080;

ALTER TABLE grants ADD COLUMN require_passcode BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE agreements (
    id           TEXT    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    kind         TEXT    NOT NULL,
    audience     TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    title        TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    covers       TEXT    NOT NULL,
    valid_days   INTEGER,
    grace_days   INTEGER NOT NULL,
    published_at BIGINT NOT NULL,
    published_by TEXT    REFERENCES people (id),
    UNIQUE (workspace_id, kind, audience, version)
);

CREATE TABLE signatures (
    id           TEXT    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    person_id    TEXT    NOT NULL REFERENCES people (id),
    agreement_id TEXT    NOT NULL REFERENCES agreements (id),
    kind         TEXT    NOT NULL,
    audience     TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    text_sha256  BYTEA    NOT NULL,
    covers       TEXT    NOT NULL,
    typed_name   TEXT    NOT NULL,
    signed_at    BIGINT NOT NULL,
    expires_at   BIGINT,
    client       TEXT,
    user_agent   TEXT    NOT NULL,
    seal         BYTEA    NOT NULL
);
CREATE INDEX signatures_person ON signatures (workspace_id, person_id);

CREATE TABLE passcodes (
    id           TEXT    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    person_id    TEXT    NOT NULL REFERENCES people (id),
    grant_id     TEXT    NOT NULL REFERENCES grants (id),
    hash         TEXT    NOT NULL,
    valid_from   BIGINT NOT NULL,
    valid_until  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX passcodes_grant ON passcodes (workspace_id, grant_id, valid_until);

-- Wrong tries per grant and business day (the day is named by its end).
CREATE TABLE passcode_failures (
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    grant_id     TEXT    NOT NULL REFERENCES grants (id),
    day_end      BIGINT NOT NULL,
    failures     INTEGER NOT NULL,
    PRIMARY KEY (grant_id, day_end)
);

-- An item a person opened with a passcode: open again without it until
-- the passcode's end.
CREATE TABLE passcode_unlocks (
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    person_id    TEXT    NOT NULL REFERENCES people (id),
    passcode_id  TEXT    NOT NULL REFERENCES passcodes (id),
    grant_id     TEXT    NOT NULL REFERENCES grants (id),
    item         TEXT    NOT NULL,
    until        BIGINT NOT NULL,
    PRIMARY KEY (passcode_id, item)
);
CREATE INDEX passcode_unlocks_person ON passcode_unlocks (workspace_id, person_id, until);
