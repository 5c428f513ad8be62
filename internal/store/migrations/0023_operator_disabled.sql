-- An operator row whose user lost the operator role (owned by
-- internal/chat, operators.go): disabled_at is when; the row stays (chats
-- and reports point at it) but is offline and cannot go online until the
-- user is an operator again, which clears it. NULL: enabled.
ALTER TABLE operators ADD COLUMN disabled_at BIGINT;
