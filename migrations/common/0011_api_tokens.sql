-- depends: 0009_personal_data_sealed
-- Bearer tokens of the HTTP API (docs/access.md). Only a SHA-256 hash of each secret is
-- kept; a revoked token stays (revoked_at set) so that the actor ids on past events
-- still name a token the list can show. Times are ISO 8601 in UTC, as elsewhere.
CREATE TABLE api_tokens (
    token_id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL UNIQUE,
    holder_name TEXT NOT NULL,
    role TEXT NOT NULL,
    regions TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
