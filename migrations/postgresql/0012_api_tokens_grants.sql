-- depends: 0008_service_role 0011_api_tokens
-- The service creates, reads and revokes tokens (`ledger token`, the API's guard); it
-- never deletes one, so a revoked token stays listed.
GRANT SELECT, INSERT, UPDATE ON api_tokens TO ledger_service;
