-- An upload's body moves out of its task's row (internal/outbound,
-- importer.go). The importer updates the task's progress after every
-- batch, and SQLite rewrites a whole record on UPDATE, overflow pages
-- included: with the body in the row, each batch of a 1M-row upload
-- rewrote ~100 MB while holding the one write lock, so other tenants'
-- writes waited on it (issue 10, item 15). PostgreSQL keeps an unchanged
-- TOASTed value in place, but one layout serves both.
CREATE TABLE import_payloads (
    task_id BIGINT PRIMARY KEY REFERENCES import_tasks(id),
    payload {{BLOB}} NOT NULL
);
INSERT INTO import_payloads (task_id, payload)
    SELECT id, payload FROM import_tasks WHERE payload IS NOT NULL;
ALTER TABLE import_tasks DROP COLUMN payload;
