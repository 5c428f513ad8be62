-- Live-chat gateway (/v1/projects/{projectUuid}/livechat, seed 001):
-- projects (chat entry points), chats bound to a project, client-chosen
-- message item UUIDs, and idempotency keys.

CREATE TABLE projects (
    id          {{ID}},
    uuid        TEXT NOT NULL UNIQUE,
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX projects_company ON projects (company_id);

-- Chats created outside the gateway have no project.
ALTER TABLE chats ADD COLUMN project_id BIGINT REFERENCES projects(id);
CREATE INDEX chats_project ON chats (project_id, id);

-- uuid is the gateway's itemUuid: chosen by the client, unique per company,
-- so one item is never stored twice. Messages posted elsewhere have none.
ALTER TABLE chat_messages ADD COLUMN uuid TEXT;
CREATE UNIQUE INDEX chat_messages_uuid ON chat_messages (company_id, uuid);

-- One row per (company, idempotencyKey), inserted in the same transaction
-- as the effect it guards; status and body are the first answer. Rows are
-- kept at least 24 h; purging older ones is not implemented yet.
CREATE TABLE idempotency_keys (
    company_id   BIGINT NOT NULL REFERENCES companies(id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (company_id, key)
);
