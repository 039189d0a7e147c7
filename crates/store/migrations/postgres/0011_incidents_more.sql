-- Incidents about an item (keep in step with the other backend's
-- 0011_incidents_more.sql): everyone's accesses to one document or record
-- set in the window, instead of one person's. item_kind is 'document' or
-- 'record_set' and item_id its id; both are NULL for an incident about a
-- person. person_id stays NOT NULL (SQLite cannot relax it without
-- rebuilding the table and its references): for an item incident it is
-- the person who opened it.
ALTER TABLE incidents ADD COLUMN item_kind TEXT;
ALTER TABLE incidents ADD COLUMN item_id TEXT;
