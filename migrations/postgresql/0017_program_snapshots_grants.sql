-- depends: 0008_service_role 0016_program_snapshots
-- program_snapshots is a cache the service takes, replaces and may drop, not history.
GRANT SELECT, INSERT, UPDATE, DELETE ON program_snapshots TO ledger_service;
