-- depends: 0003_contributions_postgresql 0004_claims 0006_lapsed_counts 0007_event_chain
-- The role the service runs as (docs/audit.md): it appends to history and reads it,
-- and rebuilds read models, but cannot change what is recorded. It owns nothing, so it
-- can neither drop a table nor disable its triggers. The tables' owner (whoever runs
-- the migrations) keeps every right; a login role joins with GRANT ledger_service TO ...
-- A table a later migration creates needs grants of its own, in a PostgreSQL migration:
-- tests/store/test_service_role.py fails on a table with none decided.

-- Roles are cluster-wide and every database on the cluster runs this migration, maybe
-- at the same moment: a concurrent CREATE ROLE of the same name fails on the unique
-- index (unique_violation), one that has committed with duplicate_object.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_service') THEN
        CREATE ROLE ledger_service NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- History: read and append, nothing else.
GRANT SELECT, INSERT ON stored_events, event_chain TO ledger_service;
-- (Writers serialise on an advisory lock, not LOCK TABLE, which PostgreSQL before 17
-- grants only to a role that may UPDATE, DELETE or TRUNCATE: ledger/postgres_recorder.py.)
-- The recorder numbers events itself and moves the sequence along with setval.
GRANT USAGE, UPDATE ON SEQUENCE stored_events_notification_id_seq TO ledger_service;

-- Read models and their positions: emptied and refilled by a rebuild.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    projection_positions,
    program_summary, program_budget, program_cohort_quota, program_cohort_status,
    participant_status, participant_reasons,
    bill_summary, bill_payments, bill_refunds, contribution_months, member_months,
    program_months, program_funding,
    claim_summary, claim_stages
TO ledger_service;

-- yoyo's bookkeeping, read-only: enough to see that no migration is pending.
GRANT SELECT ON _yoyo_migration, _yoyo_version TO ledger_service;
