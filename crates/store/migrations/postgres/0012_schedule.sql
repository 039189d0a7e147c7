-- The jobs `confidant serve` runs on its own schedule (postgres flavour; keep
-- in step with the other backend's 0012_schedule.sql): one row per job and
-- period (a business day), so a job runs once per period even across
-- restarts and server processes. status is running (claimed by claim_token
-- at claimed_at; handed_at once a message was given to the mail server or
-- the hook), done, failed (tried again from next_attempt_at) or uncertain (a
-- process stopped after handing its message over: never sent again). Ids,
-- states and counts only: no passcodes, no addresses. sealed holds a
-- passcode digest kept for the owner's Passcodes page (the "notify"
-- delivery), sealed by the vault, until the owner has seen it once.
CREATE TABLE schedule_runs (
    workspace_id    TEXT    NOT NULL REFERENCES workspaces (id),
    job             TEXT    NOT NULL,
    period          TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        BIGINT  NOT NULL,
    claim_token     TEXT,
    claimed_at      BIGINT  NOT NULL,
    handed_at       BIGINT,
    next_attempt_at BIGINT  NOT NULL,
    finished_at     BIGINT,
    detail          TEXT,
    sealed          BYTEA,
    PRIMARY KEY (workspace_id, job, period)
);
CREATE INDEX schedule_runs_recent ON schedule_runs (workspace_id, claimed_at);
