-- Break-glass grants on backups (postgres flavour; keep in step with the other
-- backend's 0017_break_glass.sql). Only the owner touches backups by
-- default; an admin needs one of these: a named person, a reason, an
-- expiry and, when the workspace requires it (backup_settings), the
-- approval of a second admin or owner (neither the holder nor the issuer).
-- A grant is usable from approval (or issue) until it expires or is ended.
CREATE TABLE break_glass_grants (
    id           TEXT    PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    person_id    TEXT    NOT NULL REFERENCES people (id),
    reason       TEXT    NOT NULL,
    issued_by    TEXT    NOT NULL REFERENCES people (id),
    issued_at    BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    needs_approval BIGINT NOT NULL,
    approved_by  TEXT    REFERENCES people (id),
    approved_at  BIGINT,
    ended_by     TEXT    REFERENCES people (id),
    ended_at     BIGINT
);
CREATE INDEX break_glass_by_person ON break_glass_grants (workspace_id, person_id);
-- The workspace's backup settings: whether a break-glass grant needs a
-- second person's approval (1, the default when there is no row) or not.
CREATE TABLE backup_settings (
    workspace_id     TEXT    PRIMARY KEY REFERENCES workspaces (id),
    require_approval BIGINT  NOT NULL
);
