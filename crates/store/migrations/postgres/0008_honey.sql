-- Honey records of stamped exports (postgres flavour; keep in step with the
-- other backend's 0008_honey.sql): the keyed hash of each fake value (never
-- the value) and the delivery it went out with, so a leaked list names its
-- source even when its banner and fingerprints are stripped.
CREATE TABLE honey_tags (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    tag_hash     BYTEA NOT NULL,
    delivery     TEXT NOT NULL,
    PRIMARY KEY (workspace_id, tag_hash, delivery)
);
