-- Every upload form a chat hands out (internal/chat/uploadforms.go): the
-- chat's and the company's upload quotas count these rows, and a key is
-- attached at most once (used_at). max_size is what a pending form
-- reserves; size is the attached object's. An unused form is purged with
-- its object once it expired; a used one stays (it counts the attached
-- bytes, and refuses the key again), swept_at marking that the object at
-- its key, which the form could still overwrite until it expired, was
-- removed.
CREATE TABLE chat_uploads (
    id          {{ID}},
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    chat_id     BIGINT NOT NULL REFERENCES chats(id),
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL UNIQUE,
    max_size    BIGINT NOT NULL,
    size        BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    swept_at    BIGINT
);
CREATE INDEX chat_uploads_chat ON chat_uploads (chat_id);
CREATE INDEX chat_uploads_company ON chat_uploads (company_id);
CREATE INDEX chat_uploads_expiry ON chat_uploads (expires_at) WHERE swept_at IS NULL;

-- The orphan sweeps look objects up by key: a chat's media...
CREATE INDEX chat_media_key ON chat_media (key);
-- ...and a call's recording (the table is the outbound lifecycle's).
CREATE INDEX calls_recording_key ON calls (recording_key) WHERE recording_key <> '';
