-- depends: 0008_service_role 0018_as_of_checkpoints
-- as_of_checkpoints is a cache the service keeps and prunes, not history.
GRANT SELECT, INSERT, DELETE ON as_of_checkpoints TO ledger_service;
-- The body is compressed already: TOAST's own compression would only spend time on it.
ALTER TABLE as_of_checkpoints ALTER COLUMN body SET STORAGE EXTERNAL;
