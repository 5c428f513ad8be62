-- Chat platform (seed 002), routing and the chat event log.

-- A menu is a queue a chat is routed through: its virtual agent (an agent
-- whose script runs with s.channel == "chat") answers first, then the
-- operators of the menu take the chat after escalation. A menu that names
-- no operators is served by every operator of the company.
CREATE TABLE menus (
    id          {{ID}},
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    name        TEXT NOT NULL,
    agent_id    BIGINT REFERENCES agents(id),
    created_at  BIGINT NOT NULL
);
CREATE INDEX menus_company ON menus (company_id);

CREATE TABLE menu_operators (
    menu_id     BIGINT NOT NULL REFERENCES menus(id),
    operator_id BIGINT NOT NULL REFERENCES operators(id),
    PRIMARY KEY (menu_id, operator_id)
);
CREATE INDEX menu_operators_operator ON menu_operators (operator_id);

ALTER TABLE projects ADD COLUMN menu_id BIGINT REFERENCES menus(id);

-- load counts the operator's assigned chats; it changes in the transaction
-- that assigns or releases a chat, so load <= capacity holds. last_assigned_at
-- orders equally loaded operators: the longest idle first.
ALTER TABLE operators ADD COLUMN load INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operators ADD COLUMN last_assigned_at BIGINT NOT NULL DEFAULT 0;

ALTER TABLE chats ADD COLUMN menu_id BIGINT REFERENCES menus(id);
ALTER TABLE chats ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
ALTER TABLE chats ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE chats ADD COLUMN context TEXT NOT NULL DEFAULT '{}';
ALTER TABLE chats ADD COLUMN virtual_agent_id BIGINT REFERENCES agents(id);
-- queued_at orders the queue; set whenever the chat (re)enters queued.
ALTER TABLE chats ADD COLUMN queued_at BIGINT NOT NULL DEFAULT 0;
-- timeout_at: when a live chat times out if the end user stays silent;
-- every end-user message pushes it back. NULL: never.
ALTER TABLE chats ADD COLUMN timeout_at BIGINT;
ALTER TABLE chats ADD COLUMN deflection_channel TEXT NOT NULL DEFAULT '';
ALTER TABLE chats ADD COLUMN finished_by_user_id BIGINT;
ALTER TABLE chats ADD COLUMN escalation_id BIGINT;
ALTER TABLE chats ADD COLUMN verified_customer {{BOOL}} NOT NULL DEFAULT FALSE;
ALTER TABLE chats ADD COLUMN bad_actor {{BOOL}} NOT NULL DEFAULT FALSE;
ALTER TABLE chats ADD COLUMN repeat_customer {{BOOL}} NOT NULL DEFAULT FALSE;
ALTER TABLE chats ADD COLUMN custom_data TEXT NOT NULL DEFAULT '{}';
-- The virtual agent's progress: the seq of the last message its script has
-- consumed, and what it set with s.set (JSON).
ALTER TABLE chats ADD COLUMN va_seen_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN va_outputs TEXT NOT NULL DEFAULT '{}';
-- event_seq is the seq of the chat's newest event (chat_events).
ALTER TABLE chats ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX chats_queue ON chats (status, queued_at);
CREATE INDEX chats_timeout ON chats (timeout_at);
CREATE INDEX chats_operator ON chats (operator_id, status);

-- Everyone who served a chat, in order: the chat object's all_agents and
-- all_virtual_agents. kind is 'operator' or 'virtual_agent'.
CREATE TABLE chat_participants (
    chat_id     BIGINT NOT NULL REFERENCES chats(id),
    kind        TEXT NOT NULL,
    ref_id      BIGINT NOT NULL,
    joined_at   BIGINT NOT NULL,
    PRIMARY KEY (chat_id, kind, ref_id)
);

CREATE TABLE escalations (
    id                 {{ID}},
    company_id         BIGINT NOT NULL REFERENCES companies(id),
    chat_id            BIGINT NOT NULL REFERENCES chats(id),
    reason             TEXT NOT NULL,
    force_escalate     {{BOOL}} NOT NULL DEFAULT FALSE,
    status             TEXT NOT NULL,
    deflection_channel TEXT NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX escalations_chat ON escalations (chat_id);

-- Photos and videos attached to a chat; key names the object in the media
-- store.
CREATE TABLE chat_media (
    id           {{ID}},
    company_id   BIGINT NOT NULL REFERENCES companies(id),
    chat_id      BIGINT NOT NULL REFERENCES chats(id),
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL,
    media_type   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL
);
CREATE INDEX chat_media_chat ON chat_media (chat_id, kind, id);

-- Every change of a chat, numbered per chat without gaps, written in the
-- transaction of the change. Realtime clients resume from it; old rows are
-- purged, and a client asking for a purged seq is told to resync.
CREATE TABLE chat_events (
    chat_id     BIGINT NOT NULL REFERENCES chats(id),
    seq         INTEGER NOT NULL,
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    type        TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (chat_id, seq)
);
CREATE INDEX chat_events_created ON chat_events (created_at);
