-- Voice handover (issue 12). A call the virtual agent hands to a human
-- operator: one row per s.transfer() that got past the agent's
-- routing_channel_limit, owned by internal/chat (operators, their
-- capacity and routing are chat's; a ringing or talking transfer holds
-- one unit of its operator's load, shared with chats). state: waiting ->
-- ringing (operator_id set, counts in their load) -> talking -> ended;
-- ringing -> waiting again on a ring timeout, a decline or the operator
-- going offline (tried lists who rang already). node and lease_until
-- say which process holds the call: a lease that ran out means it died,
-- and the sweep ends the row as interrupted and releases the operator.
CREATE TABLE call_transfers (
    id               {{ID}},
    company_id       BIGINT NOT NULL REFERENCES companies(id),
    agent_id         BIGINT NOT NULL REFERENCES agents(id),
    dialog_id        BIGINT NOT NULL,
    call_id          BIGINT NOT NULL,
    call_uuid        TEXT NOT NULL,
    phone            TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL DEFAULT '',
    target           TEXT NOT NULL DEFAULT 'operators',
    menu_id          BIGINT,
    state            TEXT NOT NULL,
    result           TEXT NOT NULL DEFAULT '',
    operator_id      BIGINT REFERENCES operators(id),
    tried            TEXT NOT NULL DEFAULT '',
    muted            {{BOOL}} NOT NULL DEFAULT FALSE,
    held             {{BOOL}} NOT NULL DEFAULT FALSE,
    initial_entities TEXT NOT NULL DEFAULT '{}',
    output_entities  TEXT NOT NULL DEFAULT '{}',
    transcript       TEXT NOT NULL DEFAULT '[]',
    disposition      TEXT,
    node             TEXT NOT NULL DEFAULT '',
    lease_until      BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    offered_at       BIGINT,
    accepted_at      BIGINT,
    ended_at         BIGINT,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX call_transfers_company ON call_transfers (company_id, id);
CREATE INDEX call_transfers_live ON call_transfers (agent_id, state);
CREATE INDEX call_transfers_operator ON call_transfers (operator_id, state);

-- An agent's transfer settings (internal/agent; GET/PUT
-- /agent-settings/transfer). Timeouts in seconds.
ALTER TABLE agents ADD COLUMN transfer_menu_id BIGINT;
ALTER TABLE agents ADD COLUMN transfer_hold_prompt TEXT NOT NULL DEFAULT 'Please hold, connecting you to an operator.';
ALTER TABLE agents ADD COLUMN transfer_ring_timeout INTEGER NOT NULL DEFAULT 20;
ALTER TABLE agents ADD COLUMN transfer_timeout INTEGER NOT NULL DEFAULT 60;
ALTER TABLE agents ADD COLUMN transfer_external_to TEXT NOT NULL DEFAULT '';

-- A trunk that transfers by REFER (internal/trunk): s.transfer() to a
-- number or SIP URI hands the callee over blindly instead of bridging.
ALTER TABLE trunks ADD COLUMN refer {{BOOL}} NOT NULL DEFAULT FALSE;

-- What a transferred call's statistics show (internal/outbound).
ALTER TABLE calls ADD COLUMN transfer_operator_id BIGINT;
ALTER TABLE calls ADD COLUMN transfer_operator_name TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN transfer_wait_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN transfer_talk_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN transfer_disposition TEXT;
