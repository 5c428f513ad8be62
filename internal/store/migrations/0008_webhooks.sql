-- Company webhooks: URLs that receive the company's domain events, signed
-- with a per-webhook secret (internal/webhook).

-- events is a JSON array of event types ("chat.created"), prefixes
-- ("chat.*") or "*". secret is the HMAC-SHA256 key, shown once at creation.
CREATE TABLE webhooks (
    id          {{ID}},
    company_id  BIGINT NOT NULL REFERENCES companies(id),
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    events      TEXT NOT NULL,
    active      {{BOOL}} NOT NULL DEFAULT TRUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX webhooks_company ON webhooks (company_id, active);

-- One row per event and webhook: the unique (webhook_id, event_id) makes
-- enqueueing an event idempotent. payload is the exact JSON body POSTed on
-- every attempt. A pending row is due at next_attempt_at and claimed by the
-- node whose lease_until is in the future (0 when nobody holds it).
-- last_status is the HTTP status of the last attempt, NULL when no response.
CREATE TABLE webhook_deliveries (
    id              {{ID}},
    company_id      BIGINT NOT NULL REFERENCES companies(id),
    webhook_id      BIGINT NOT NULL REFERENCES webhooks(id),
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    node            TEXT NOT NULL DEFAULT '',
    last_status     INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id);
-- The dispatcher's due-claim query: status = 'pending' AND next_attempt_at <= now.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
-- The per-webhook delivery log, newest first.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id);
-- The purge of old finished deliveries.
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);

-- Every attempt of a delivery: the delivery log. status_code is NULL when
-- the receiver did not answer (refused, timed out, TLS error...).
CREATE TABLE webhook_attempts (
    id           {{ID}},
    delivery_id  BIGINT NOT NULL REFERENCES webhook_deliveries(id),
    webhook_id   BIGINT NOT NULL,
    company_id   BIGINT NOT NULL,
    attempt      INTEGER NOT NULL,
    status_code  INTEGER,
    error        TEXT NOT NULL DEFAULT '',
    duration_ms  BIGINT NOT NULL,
    at           BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
