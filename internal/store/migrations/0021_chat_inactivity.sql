-- The end user's inactivity and the supervisors' chat reports (issue 14),
-- owned by internal/chat (inactivity.go, reports.go).
--
-- awaiting_since: when an operator answered and the end user has not
-- written since (NULL once the end user writes); the inactivity rule closes
-- an assigned chat awaiting_since + its menu's inactivity_minutes (or the
-- server's default) later.
-- first_reply_at: the first operator message, for the first response time.
ALTER TABLE chats ADD COLUMN awaiting_since BIGINT;
ALTER TABLE chats ADD COLUMN first_reply_at BIGINT;
-- end_reason: why a chat ended when the status does not say it all
-- ('inactivity', 'end_user'; '' otherwise), for the report's abandoned chats.
ALTER TABLE chats ADD COLUMN end_reason TEXT NOT NULL DEFAULT '';
-- NULL: the server's default (PARLEY_CHAT_INACTIVITY); 0: never.
ALTER TABLE menus ADD COLUMN inactivity_minutes INTEGER;

UPDATE chats SET first_reply_at = (SELECT MIN(m.created_at) FROM chat_messages m
    WHERE m.chat_id = chats.id AND m.sender_type = 'operator' AND m.type <> 'transcript');

-- The report reads a company's chats by creation time; the sweep the
-- assigned chats that wait on their end user.
CREATE INDEX chats_company_created ON chats (company_id, created_at);
CREATE INDEX chats_awaiting ON chats (awaiting_since) WHERE awaiting_since IS NOT NULL;
