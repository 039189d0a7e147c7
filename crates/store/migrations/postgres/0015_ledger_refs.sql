-- Who and what each ledger entry is about, so `audit log --person/--item`
-- and the per-person and per-item history pages read their own entries
-- instead of the whole ledger. Keep in step with
-- migrations/sqlite/0015_ledger_refs.sql.
--
-- An index only: the leaves stay the record. The vault writes a row per
-- leaf in the append's transaction (the actor's and the target's UUIDs as
-- the leaf writes them) and checks each entry it reads this way against
-- its leaf; when the rows do not cover the ledger (a backup of an older
-- version restored), it reads the whole ledger instead.
CREATE TABLE ledger_refs (
    workspace_id TEXT    NOT NULL,
    idx          BIGINT  NOT NULL,
    actor        TEXT,
    target       TEXT    NOT NULL,
    PRIMARY KEY (workspace_id, idx)
);
CREATE INDEX ledger_refs_by_actor ON ledger_refs (workspace_id, actor, idx);
CREATE INDEX ledger_refs_by_target ON ledger_refs (workspace_id, target, idx);

-- The ledgers written before this migration (leaves are UTF-8 JSON).
INSERT INTO ledger_refs (workspace_id, idx, actor, target)
SELECT workspace_id, idx, j ->> 'actor', j -> 'target' ->> 'id'
FROM (SELECT workspace_id, idx, convert_from(leaf, 'UTF8')::jsonb AS j FROM ledger_leaves) AS l
WHERE j -> 'target' ->> 'id' IS NOT NULL;
