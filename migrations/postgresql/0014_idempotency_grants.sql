-- depends: 0008_service_role 0013_idempotency_keys
-- idempotency_keys is not history: the service claims a key, fills in the response,
-- gives a key back when the command failed, and deletes expired keys.
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO ledger_service;
