-- Whether the owner's own copies of Confidential and Restricted documents
-- are stamped like everyone else's (sqlite flavour; keep in step with the
-- other backend's 0013_owner_stamps.sql). On by default; the owner may
-- turn it off for themselves.
ALTER TABLE workspaces ADD COLUMN owner_copies_stamped INTEGER NOT NULL DEFAULT 1;
