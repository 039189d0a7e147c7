-- People, invitations, second factors and sessions (sqlite flavour; keep in
-- step with the other backend's 0003_people.sql).
--
-- A database may hold several workspaces (tenants); their names are unique
-- regardless of case.

CREATE UNIQUE INDEX workspaces_name ON workspaces (lower(name));

ALTER TABLE people ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
-- The TOTP secret, sealed by the vault (AES-256-GCM under a key derived from
-- the workspace KEK); NULL until the person enrolls a second factor.
ALTER TABLE people ADD COLUMN totp_secret_ct BLOB;
-- The last TOTP time step accepted, so a code is never accepted twice.
ALTER TABLE people ADD COLUMN totp_last_step INTEGER;
ALTER TABLE people ADD COLUMN offboarded_at INTEGER;
ALTER TABLE people ADD COLUMN offboard_reason TEXT;
CREATE INDEX people_email ON people (email);

-- Single-use invitation links, stored as the SHA-256 of their token.
CREATE TABLE invites (
    hash         BLOB    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    person_id    TEXT    NOT NULL REFERENCES people (id),
    invited_by   TEXT    NOT NULL REFERENCES people (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
);
CREATE INDEX invites_person ON invites (workspace_id, person_id);

-- Recovery codes, stored as SHA-256 hashes (they are 80 random bits each).
CREATE TABLE recovery_codes (
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    person_id    TEXT    NOT NULL REFERENCES people (id),
    hash         BLOB    NOT NULL,
    used_at      INTEGER,
    PRIMARY KEY (person_id, hash)
);

-- Server-side sessions: web sessions (cookie), API tokens (CLI) and the
-- short-lived half-sessions between password and second factor. Only the
-- SHA-256 of each token is kept. Replaces api_tokens.
DROP TABLE api_tokens;
CREATE TABLE sessions (
    hash         BLOB    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    person_id    TEXT    NOT NULL REFERENCES people (id),
    kind         TEXT    NOT NULL,
    label        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_person ON sessions (workspace_id, person_id);
