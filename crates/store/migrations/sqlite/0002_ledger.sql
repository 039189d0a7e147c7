-- The access ledger, SQLite flavour. Keep in step with
-- migrations/postgres/0002_ledger.sql: the two differ only in column types.
--
-- Leaves are the canonical bytes of ledger entries, made by the ledger
-- crate; the store keeps them in order and never interprets them.
--
-- INVARIANT: the ledger is append-only. No statement of the store updates or
-- deletes a row of ledger_leaves; a leaf, once committed, stays as it is.

-- Leaves have no foreign key: they are written only by an append, which
-- holds the workspace's head row (and so its foreign key) locked.
CREATE TABLE ledger_leaves (
    workspace_id TEXT    NOT NULL,
    idx          INTEGER NOT NULL,
    leaf         BLOB    NOT NULL,
    PRIMARY KEY (workspace_id, idx)
);

-- One row per workspace: how many leaves it holds and the frontier of its
-- Merkle tree, both written with the last append. Appends lock this row.
CREATE TABLE ledger_heads (
    workspace_id TEXT    NOT NULL PRIMARY KEY REFERENCES workspaces (id),
    size         INTEGER NOT NULL,
    frontier     BLOB    NOT NULL
);

-- Signed checkpoints (C2SP signed notes), one per tree size.
CREATE TABLE ledger_checkpoints (
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    size         INTEGER NOT NULL,
    note         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, size)
);
