-- What scanning a document's current version found (JSON made by the
-- vault: counts per kind of sensitive data, never the values); NULL for
-- versions stored before documents were scanned. Keep in step with the
-- other backend's 0004_document_scan.sql.
ALTER TABLE documents ADD COLUMN scan TEXT;
