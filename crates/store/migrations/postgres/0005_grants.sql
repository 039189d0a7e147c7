-- Grants: one person's need-to-know access to one item (postgres flavour; keep
-- in step with the other backend's 0005_grants.sql). The scope (which item,
-- folder or columns), the purpose and a request's reason are sealed by the
-- vault with the workspace names key, like document names.
CREATE TABLE grants (
    id                TEXT    NOT NULL PRIMARY KEY,
    workspace_id      TEXT    NOT NULL REFERENCES workspaces (id),
    person_id         TEXT    NOT NULL REFERENCES people (id),
    scope_ct          BYTEA    NOT NULL,
    actions           TEXT    NOT NULL,
    purpose_ct        BYTEA    NOT NULL,
    status            TEXT    NOT NULL,
    requested_by      TEXT    NOT NULL REFERENCES people (id),
    request_reason_ct BYTEA,
    approved_by       TEXT    REFERENCES people (id),
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    ended_at          BIGINT,
    end_reason        TEXT
);
CREATE INDEX grants_person ON grants (workspace_id, person_id);
CREATE INDEX grants_workspace ON grants (workspace_id, created_at);
