-- Incidents and breach notices (sqlite flavour; keep in step with the other
-- backend's 0009_incidents.sql). Only ids, times and states: the reason is
-- sealed by the vault, the exposure is recomputed from the ledger, and a
-- notice's address and text are derived from the customer's encrypted row
-- when it is sent, so no customer data is stored here in the clear.
CREATE TABLE incidents (
    id           TEXT    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    person_id    TEXT    NOT NULL REFERENCES people (id),
    window_start INTEGER  NOT NULL,
    window_end   INTEGER  NOT NULL,
    aware_at     INTEGER  NOT NULL,
    opened_at    INTEGER  NOT NULL,
    opened_by    TEXT    NOT NULL REFERENCES people (id),
    reason_ct    BLOB    NOT NULL,
    offboarded   INTEGER  NOT NULL
);
CREATE INDEX incidents_workspace ON incidents (workspace_id, opened_at);

-- The timeline of an incident: every step (each also in the ledger).
CREATE TABLE incident_steps (
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    incident_id  TEXT    NOT NULL REFERENCES incidents (id),
    at           INTEGER  NOT NULL,
    kind         TEXT    NOT NULL,
    detail       TEXT    NOT NULL
);
CREATE INDEX incident_steps_incident ON incident_steps (workspace_id, incident_id, at);

-- The owner's notice template (one per workspace).
CREATE TABLE notice_templates (
    workspace_id TEXT    NOT NULL PRIMARY KEY REFERENCES workspaces (id),
    body         TEXT    NOT NULL,
    updated_at   INTEGER  NOT NULL
);

-- The outbox: one notice per incident and customer row. status is queued,
-- sending (claimed by claim_token at claimed_at; handed_at once given to
-- the SMTP server), sent, failed (retried at next_attempt_at) or
-- uncertain (a sender stopped after handing it over: held for the owner).
CREATE TABLE notices (
    id              TEXT    NOT NULL PRIMARY KEY,
    workspace_id    TEXT    NOT NULL REFERENCES workspaces (id),
    incident_id     TEXT    NOT NULL REFERENCES incidents (id),
    record_set_id   TEXT    NOT NULL,
    row_id          TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER  NOT NULL,
    next_attempt_at INTEGER  NOT NULL,
    claim_token     TEXT,
    claimed_at      INTEGER,
    handed_at       INTEGER,
    sent_at         INTEGER,
    last_error      TEXT,
    created_at      INTEGER  NOT NULL,
    UNIQUE (workspace_id, incident_id, record_set_id, row_id)
);
CREATE INDEX notices_incident ON notices (workspace_id, incident_id, status);
