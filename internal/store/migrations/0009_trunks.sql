-- SIP trunks per company (internal/voice/sip): an agent's trunk_name picks
-- the company's trunk of that name, else a trunk built into the server
-- ("sim"). password is the digest secret, stored as given because the
-- trunk must send it; answers mask it. codecs is a comma-separated list
-- in order of preference ("PCMU,PCMA").
CREATE TABLE trunks (
    id              {{ID}},
    uuid            TEXT NOT NULL UNIQUE,
    company_id      BIGINT NOT NULL REFERENCES companies(id),
    name            TEXT NOT NULL,
    host            TEXT NOT NULL,
    port            INTEGER NOT NULL DEFAULT 5060,
    transport       TEXT NOT NULL DEFAULT 'udp',
    username        TEXT NOT NULL DEFAULT '',
    password        TEXT NOT NULL DEFAULT '',
    caller_id       TEXT NOT NULL DEFAULT '',
    codecs          TEXT NOT NULL DEFAULT 'PCMU,PCMA',
    ring_timeout_s  INTEGER NOT NULL DEFAULT 30,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX trunks_company_name ON trunks (company_id, name);
