-- Live chat: end users (the v1 API's "clients"), chats and their messages.

-- identifier is the end user's id in the channel they write from; when none
-- is given a generated one is stored, so (company_id, identifier) is unique.
CREATE TABLE end_users (
    id           {{ID}},
    uuid         TEXT NOT NULL UNIQUE,
    company_id   BIGINT NOT NULL REFERENCES companies(id),
    identifier   TEXT NOT NULL,
    name         TEXT NOT NULL,
    email        TEXT NOT NULL DEFAULT '',
    phone        TEXT NOT NULL DEFAULT '',
    contact_info TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (company_id, identifier)
);

-- status: queued -> assigned -> finished, or dismissed (see internal/chat).
-- last_seq is the seq of the chat's newest message; posting bumps it in the
-- same transaction as the insert, which serialises writers per chat.
CREATE TABLE chats (
    id           {{ID}},
    uuid         TEXT NOT NULL UNIQUE,
    company_id   BIGINT NOT NULL REFERENCES companies(id),
    end_user_id  BIGINT NOT NULL REFERENCES end_users(id),
    status       TEXT NOT NULL,
    operator_id  BIGINT REFERENCES operators(id),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    ended_at     BIGINT,
    last_seq     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX chats_company ON chats (company_id, id);
CREATE INDEX chats_end_user ON chats (end_user_id);

CREATE TABLE chat_messages (
    id           {{ID}},
    company_id   BIGINT NOT NULL REFERENCES companies(id),
    chat_id      BIGINT NOT NULL REFERENCES chats(id),
    seq          INTEGER NOT NULL,
    sender_type  TEXT NOT NULL,
    sender_id    BIGINT,
    type         TEXT NOT NULL DEFAULT 'text',
    content      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (chat_id, seq)
);
