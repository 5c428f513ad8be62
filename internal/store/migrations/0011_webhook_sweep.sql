-- Where the webhook dispatcher's sweep of the chat event log stands
-- (unix ms); shared by every node. See internal/webhook/sweep.go.
CREATE TABLE webhook_cursors (
    name     TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);
