-- Outbound dialogs: scripts, uploads, the dialer's queue, calls and their
-- artifacts, and the import tasks that fill the queue.

CREATE TABLE agent_scripts (
    id          {{ID}},
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    agent_id    BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    source      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (agent_id, name)
);

-- A bulk groups the dialogs of one or more uploads (bulk_uuid).
CREATE TABLE dialog_bulks (
    id          {{ID}},
    uuid        TEXT NOT NULL UNIQUE,
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    agent_id    BIGINT NOT NULL REFERENCES agents(id),
    created_at  BIGINT NOT NULL
);

-- A selection is a named batch of an agent's dialogs; uploads with
-- with_selection=true create it or add to it.
CREATE TABLE selections (
    id          {{ID}},
    uuid        TEXT NOT NULL UNIQUE,
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    agent_id    BIGINT NOT NULL REFERENCES agents(id),
    name        TEXT NOT NULL,
    started_on  BIGINT NOT NULL,
    UNIQUE (agent_id, name)
);

-- status: queued -> calling -> queued (retry) | done | failed;
-- queued <-> stopped (queue/stop, queue/return); queued|stopped -> removed.
-- A calling dialog is leased to one dialer process until lease_until; an
-- expired lease means that process died and the attempt is retried.
CREATE TABLE dialogs (
    id              {{ID}},
    uuid            TEXT NOT NULL UNIQUE,
    company_id      BIGINT NOT NULL REFERENCES companies(id),
    agent_id        BIGINT NOT NULL REFERENCES agents(id),
    bulk_id         BIGINT REFERENCES dialog_bulks(id),
    selection_id    BIGINT REFERENCES selections(id),
    msisdn          TEXT NOT NULL,
    script_name     TEXT NOT NULL DEFAULT '',
    entry_point     TEXT NOT NULL DEFAULT 'main',
    entities        TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'queued',
    result          TEXT NOT NULL DEFAULT '',
    message         TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     BIGINT NOT NULL DEFAULT 0,
    outputs         TEXT NOT NULL DEFAULT '{}',
    last_call_uuid  TEXT NOT NULL DEFAULT '',
    -- The upload row this dialog came from: a group upload's per-row
    -- results read successful rows from here and failed ones from import_rows.
    import_task_id  BIGINT,
    import_row      INTEGER,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
-- Partial indexes where only some rows matter: a queued dialog, the bulk
-- of the table right after an upload, maintains two indexes instead of six.
CREATE INDEX dialogs_due ON dialogs (agent_id, status, next_attempt_at);
CREATE INDEX dialogs_lease ON dialogs (lease_until) WHERE status = 'calling';
CREATE INDEX dialogs_report ON dialogs (agent_id, finished_at, id) WHERE finished_at IS NOT NULL;
CREATE INDEX dialogs_bulk ON dialogs (bulk_id, id) WHERE bulk_id IS NOT NULL;
CREATE INDEX dialogs_selection ON dialogs (selection_id, status) WHERE selection_id IS NOT NULL;
CREATE INDEX dialogs_import ON dialogs (import_task_id, import_row) WHERE import_task_id IS NOT NULL;

-- One row per attempt of a dialog.
CREATE TABLE calls (
    id           {{ID}},
    uuid         TEXT NOT NULL UNIQUE,
    company_id   BIGINT NOT NULL REFERENCES companies(id),
    agent_id     BIGINT NOT NULL REFERENCES agents(id),
    dialog_id    BIGINT NOT NULL REFERENCES dialogs(id),
    attempt      INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'live',
    result       TEXT NOT NULL DEFAULT '',
    started_at   BIGINT NOT NULL,
    answered_at  BIGINT,
    ended_at     BIGINT
);
CREATE INDEX calls_agent ON calls (agent_id, id);
CREATE INDEX calls_dialog ON calls (dialog_id, id);

CREATE TABLE call_recordings (
    call_id     BIGINT PRIMARY KEY REFERENCES calls(id),
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    file_name   TEXT NOT NULL,
    wav         {{BLOB}} NOT NULL
);
-- PCM audio barely compresses; PostgreSQL would spend CPU trying on every row.
{{PG}}ALTER TABLE call_recordings ALTER COLUMN wav SET STORAGE EXTERNAL;

-- Transcript turns of a call: what the agent said, what the callee said,
-- and what the script did (outputs, transfer, hangup).
CREATE TABLE call_turns (
    id          {{ID}},
    call_id     BIGINT NOT NULL REFERENCES calls(id),
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    seq         INTEGER NOT NULL,
    action      TEXT NOT NULL,
    data        TEXT,
    at          BIGINT NOT NULL,
    UNIQUE (call_id, seq)
);

-- An asynchronous bulk upload. The request body is kept until the task is
-- done, so a task interrupted by a crash resumes from processed_rows.
CREATE TABLE import_tasks (
    id             {{ID}},
    uuid           TEXT NOT NULL UNIQUE,
    company_id     BIGINT NOT NULL REFERENCES companies(id),
    agent_id       BIGINT NOT NULL REFERENCES agents(id),
    bulk_id        BIGINT NOT NULL REFERENCES dialog_bulks(id),
    selection_id   BIGINT REFERENCES selections(id),
    state          TEXT NOT NULL DEFAULT 'queued',
    total_rows     INTEGER NOT NULL DEFAULT 0,
    processed_rows INTEGER NOT NULL DEFAULT 0,
    failed_rows    INTEGER NOT NULL DEFAULT 0,
    message        TEXT NOT NULL DEFAULT '',
    payload        {{BLOB}},
    lease_owner    TEXT NOT NULL DEFAULT '',
    lease_until    BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX import_tasks_state ON import_tasks (state, lease_until);

-- The rows of an upload that failed, with the reason.
CREATE TABLE import_rows (
    task_id     BIGINT NOT NULL REFERENCES import_tasks(id),
    row_no      INTEGER NOT NULL,
    ok          {{BOOL}} NOT NULL,
    msisdn      TEXT NOT NULL,
    message     TEXT NOT NULL,
    dialog_uuid TEXT NOT NULL,
    PRIMARY KEY (task_id, row_no)
);
