-- CSAT (issue 14): the end user's rating of an ended chat, 1 to 5 with an
-- optional comment, given once through the widget. Owned by internal/chat
-- (ratings.go); one row per chat.
CREATE TABLE chat_ratings (
    chat_id    BIGINT PRIMARY KEY REFERENCES chats(id),
    company_id BIGINT NOT NULL REFERENCES companies(id),
    rating     INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment    TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
