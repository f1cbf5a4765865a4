-- depends: 0009_personal_data_sealed
-- Idempotency keys of commands (src/api/idempotency.py, docs/commands.md): the first
-- request with a key claims it; its final response is kept so that a retry gets it back
-- instead of running the command again. Operational data, not history: rows expire
-- after 24 hours and are deleted then. caller is '' when no caller was authenticated.
-- status, headers and body_sealed stay NULL while the first request is in flight; the
-- body is sealed with the personal-data keys, since a response may name a person.
CREATE TABLE idempotency_keys (
    caller TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    claim_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status INTEGER,
    headers TEXT,
    body_sealed TEXT,
    PRIMARY KEY (caller, idempotency_key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
