-- dialog-report (internal/outbound/stats.go) counts a window's finished
-- dialogs and skips OFFSET rows of it, filtering on the finished condition
-- of internal/outbound/state.go (status IN ('done', 'failed') AND
-- last_call_uuid <> ''). With only (agent_id, finished_at, id) in the
-- index, each of a day's ~33,000 entries cost a table row read to check
-- that condition, so the report's speed followed the table's density (a
-- table written three times per dialog by the outbound service is less
-- dense than one written once, docs/benchmarks.md, issue 11 rerun).
-- Carrying the two columns makes the COUNT and the skipped rows read the
-- index alone (SQLite: "COVERING INDEX", PostgreSQL: an index-only scan).
DROP INDEX dialogs_report;
CREATE INDEX dialogs_report ON dialogs (agent_id, finished_at, id, status, last_call_uuid) WHERE finished_at IS NOT NULL;
