-- Idempotency keys belong to the chat domain (internal/chat/idempotency.go):
-- a key names the message its first post stored, or found already stored
-- (replayed), instead of holding an HTTP answer. Keys stored before hold
-- HTTP answers only; they are dropped. A retry that arrives across the
-- upgrade is still stored once: every gateway post carries an itemUuid,
-- unique per company, and the repeated item is answered as a replay.
DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys DROP COLUMN status;
ALTER TABLE idempotency_keys DROP COLUMN body;
ALTER TABLE idempotency_keys ADD COLUMN message_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE idempotency_keys ADD COLUMN replayed {{BOOL}} NOT NULL DEFAULT FALSE;
