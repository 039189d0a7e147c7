-- Documents the owner set to "view only": shown in the browser, never
-- offered for download (postgres flavour; keep in step with the other
-- backend's 0014_view_only.sql).
CREATE TABLE view_only_documents (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    document_id  TEXT NOT NULL,
    PRIMARY KEY (workspace_id, document_id)
);
