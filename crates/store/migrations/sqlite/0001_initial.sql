-- confidant's metadata, SQLite flavour. Keep in step with
-- migrations/postgres/0001_initial.sql: the two differ only in column types.
--
-- Ids are hyphenated UUIDs as TEXT, times are unix milliseconds at UTC,
-- byte fields hold ciphertext or keyed hashes made by the vault. Every table
-- carries its workspace id and every query filters by it.

CREATE TABLE workspaces (
    id                  TEXT    NOT NULL PRIMARY KEY,
    name                TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    root_seal           TEXT    NOT NULL,
    kek_id              TEXT    NOT NULL,
    kek_wrapped         BLOB    NOT NULL,
    signing_key_wrapped BLOB    NOT NULL,
    signing_public_key  BLOB    NOT NULL,
    names_key_wrapped   BLOB    NOT NULL
);

CREATE TABLE people (
    id            TEXT    NOT NULL PRIMARY KEY,
    workspace_id  TEXT    NOT NULL REFERENCES workspaces (id),
    email         TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT,
    created_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, email)
);

CREATE TABLE api_tokens (
    hash         BLOB    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id),
    person_id    TEXT    NOT NULL REFERENCES people (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX api_tokens_person ON api_tokens (workspace_id, person_id);

CREATE TABLE documents (
    id               TEXT    NOT NULL PRIMARY KEY,
    workspace_id     TEXT    NOT NULL REFERENCES workspaces (id),
    name_ct          BLOB    NOT NULL,
    name_index       BLOB    NOT NULL,
    label            TEXT    NOT NULL,
    size             INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    blob_key         TEXT    NOT NULL,
    data_key_wrapped BLOB    NOT NULL,
    kek_id           TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (workspace_id, name_index)
);
CREATE INDEX documents_age ON documents (workspace_id, created_at, id);

CREATE TABLE record_sets (
    id                 TEXT    NOT NULL PRIMARY KEY,
    workspace_id       TEXT    NOT NULL REFERENCES workspaces (id),
    name               TEXT    NOT NULL,
    label              TEXT    NOT NULL,
    columns            TEXT    NOT NULL, -- JSON array of confidant_core::Column
    rows_are_customers INTEGER NOT NULL,
    contact_column     TEXT,
    row_count          INTEGER NOT NULL,
    data_key_wrapped   BLOB    NOT NULL,
    kek_id             TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

-- Rows and index entries have no foreign keys: they are written only by an
-- import, in the transaction that inserts their set, and deleted only with
-- it; a per-row check would slow the import path for no gain.
CREATE TABLE record_rows (
    id           TEXT    NOT NULL PRIMARY KEY,
    workspace_id TEXT    NOT NULL,
    set_id       TEXT    NOT NULL,
    ordinal      INTEGER NOT NULL,
    cells        BLOB    NOT NULL
);
CREATE UNIQUE INDEX record_rows_order ON record_rows (set_id, ordinal);

CREATE TABLE index_entries (
    workspace_id TEXT NOT NULL,
    set_id       TEXT NOT NULL,
    column_name  TEXT NOT NULL,
    hash         BLOB NOT NULL,
    row_id       TEXT NOT NULL
);
CREATE INDEX index_entries_lookup ON index_entries (set_id, column_name, hash);
