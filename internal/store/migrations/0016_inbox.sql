-- The operators' inbox (issue 14): read markers, labels, internal notes,
-- canned responses and full-text search over messages.

-- read_seq is the seq of the last message an operator has read in a chat;
-- the inbox counts the end user's messages after it as unread.
CREATE TABLE chat_reads (
    chat_id     BIGINT NOT NULL REFERENCES chats(id),
    operator_id BIGINT NOT NULL REFERENCES operators(id),
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    read_seq    INTEGER NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (chat_id, operator_id)
);

-- Labels operators put on chats (free text, a few per chat).
CREATE TABLE chat_labels (
    chat_id    BIGINT NOT NULL REFERENCES chats(id),
    company_id BIGINT NOT NULL REFERENCES companies(id),
    label      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (chat_id, label)
);
CREATE INDEX chat_labels_company ON chat_labels (company_id, label);

-- Internal notes: staff only, never in chat_messages, so that nothing that
-- shows an end user their messages can show them a note. kind is 'note' or
-- 'transfer' (the note a transfer carries).
CREATE TABLE chat_notes (
    id          {{ID}},
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    chat_id     BIGINT NOT NULL REFERENCES chats(id),
    operator_id BIGINT REFERENCES operators(id),
    user_id     BIGINT,
    kind        TEXT NOT NULL,
    content     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX chat_notes_chat ON chat_notes (chat_id, id);

-- Canned responses: owner_operator_id 0 is company-wide, otherwise the
-- operator's own. A shortcut is unique per owner.
CREATE TABLE canned_responses (
    id                {{ID}},
    company_id        BIGINT NOT NULL REFERENCES companies(id),
    owner_operator_id BIGINT NOT NULL DEFAULT 0,
    shortcut          TEXT NOT NULL,
    content           TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (company_id, owner_operator_id, shortcut)
);

-- The inbox lists a company's chats by status and a customer's chats.
CREATE INDEX chats_company_status ON chats (company_id, status, id);
CREATE INDEX chats_company_end_user ON chats (company_id, end_user_id, id);

-- Full-text search over text messages. SQLite: an FTS5 index with the
-- messages table as its content, kept by triggers (rowid = message id).
-- PostgreSQL: a generated tsvector column with a GIN index. Both split on
-- non-alphanumerics and fold case ('simple' / unicode61: no stemming, so
-- both engines find the same words).
{{SQLITE}}CREATE VIRTUAL TABLE chat_messages_fts USING fts5(content, content='chat_messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
{{SQLITE}}INSERT INTO chat_messages_fts (rowid, content) SELECT id, content FROM chat_messages WHERE type IN ('text', 'transcript');
{{SQLITE}}CREATE TRIGGER chat_messages_fts_insert AFTER INSERT ON chat_messages WHEN new.type IN ('text', 'transcript') BEGIN INSERT INTO chat_messages_fts (rowid, content) VALUES (new.id, new.content); END;
{{SQLITE}}CREATE TRIGGER chat_messages_fts_delete AFTER DELETE ON chat_messages WHEN old.type IN ('text', 'transcript') BEGIN INSERT INTO chat_messages_fts (chat_messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END;
{{SQLITE}}CREATE TRIGGER chat_messages_fts_update AFTER UPDATE OF content ON chat_messages WHEN old.type IN ('text', 'transcript') BEGIN INSERT INTO chat_messages_fts (chat_messages_fts, rowid, content) VALUES ('delete', old.id, old.content); INSERT INTO chat_messages_fts (rowid, content) VALUES (new.id, new.content); END;
{{PG}}ALTER TABLE chat_messages ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', CASE WHEN type IN ('text', 'transcript') THEN content ELSE '' END)) STORED;
{{PG}}CREATE INDEX chat_messages_search ON chat_messages USING GIN (search);
-- PostgreSQL searches the newest messages of a company first (fulltext.go).
{{PG}}CREATE INDEX chat_messages_company ON chat_messages (company_id, id);
