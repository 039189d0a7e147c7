-- The owner's own Cedar policies (forbid rules on top of the defaults),
-- validated by the vault before they are stored. Keep in step with the
-- other backend's 0006_owner_policies.sql.
ALTER TABLE workspaces ADD COLUMN owner_policies TEXT NOT NULL DEFAULT '';
