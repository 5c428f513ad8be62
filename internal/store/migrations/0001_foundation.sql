-- Times are unix milliseconds (UTC) in BIGINT columns: portable across both
-- engines and index-friendly for the time-window reports.

CREATE TABLE companies (
    id          {{ID}},
    uuid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    secret      TEXT NOT NULL,
    timezone    TEXT NOT NULL DEFAULT 'UTC',
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id            {{ID}},
    uuid          TEXT NOT NULL UNIQUE,
    company_id    BIGINT NOT NULL REFERENCES companies(id),
    login         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX users_company ON users (company_id);

CREATE TABLE operators (
    id          {{ID}},
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    user_id     BIGINT UNIQUE REFERENCES users(id),
    name        TEXT NOT NULL,
    first_name  TEXT NOT NULL DEFAULT '',
    avatar      TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'offline',
    capacity    INTEGER NOT NULL DEFAULT 5,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX operators_company ON operators (company_id);

-- Server-wide secrets such as the JWT signing key, generated at first start.
CREATE TABLE server_keys (
    name        TEXT PRIMARY KEY,
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- One row per issued refresh token. A token is used once; presenting a used
-- one again revokes its whole family (every token descended from one login).
CREATE TABLE refresh_tokens (
    jti         TEXT PRIMARY KEY,
    family      TEXT NOT NULL,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    revoked     {{BOOL}} NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE agents (
    id                    {{ID}},
    uuid                  TEXT NOT NULL UNIQUE,
    company_id            BIGINT NOT NULL REFERENCES companies(id),
    name                  TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    delay_minutes         INTEGER NOT NULL DEFAULT 60,
    recall_count          INTEGER NOT NULL DEFAULT 0,
    trunk_name            TEXT NOT NULL DEFAULT 'sim',
    flag                  TEXT NOT NULL DEFAULT '',
    record_path           TEXT NOT NULL DEFAULT '',
    routing_channel_limit INTEGER NOT NULL DEFAULT 1,
    total_channel_limit   INTEGER NOT NULL DEFAULT 10,
    pool_name             TEXT NOT NULL DEFAULT 'default',
    language              TEXT NOT NULL DEFAULT 'en-US',
    asr                   TEXT NOT NULL DEFAULT '',
    tts                   TEXT NOT NULL DEFAULT '',
    speed                 DOUBLE PRECISION,
    pitch                 DOUBLE PRECISION,
    emotion               TEXT,
    record_storage_time   TEXT NOT NULL DEFAULT '',
    timezone              TEXT NOT NULL DEFAULT 'UTC',
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX agents_company ON agents (company_id, id);

CREATE TABLE agent_credentials (
    id          {{ID}},
    uuid        TEXT NOT NULL UNIQUE,
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    agent_id    BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    platform    TEXT NOT NULL,
    key_type    TEXT NOT NULL,
    value       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX agent_credentials_agent ON agent_credentials (agent_id, id);

CREATE TABLE agent_time_slots (
    id          {{ID}},
    uuid        TEXT NOT NULL UNIQUE,
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    agent_id    BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    day         INTEGER NOT NULL,
    not_before  TEXT NOT NULL,
    not_after   TEXT NOT NULL
);
CREATE INDEX agent_time_slots_agent ON agent_time_slots (agent_id, day);

-- Initial entities (inputs of a dialog) and output entities (what a script
-- fills in) differ by one column, so they share a table keyed by kind.
CREATE TABLE agent_entities (
    id          {{ID}},
    uuid        TEXT NOT NULL UNIQUE,
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    agent_id    BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    synthesis   {{BOOL}} NOT NULL DEFAULT FALSE,
    entity_type TEXT NOT NULL DEFAULT 'string',
    number_cell INTEGER NOT NULL DEFAULT 0,
    UNIQUE (agent_id, kind, name)
);
