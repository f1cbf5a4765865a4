-- depends: 0003_contributions
-- Read models of claims (the claims projection); all rebuildable from stored_events.
-- claim_summary.state is the claim as the domain folds it (msgspec JSON), so that
-- documents, due days and penalties come from the same code that decides them.

CREATE TABLE claim_summary (
    program_id TEXT NOT NULL,
    claim_id TEXT NOT NULL,
    stream_id TEXT NOT NULL UNIQUE,
    participant_id TEXT NOT NULL,
    benefit TEXT NOT NULL,
    fatal INTEGER NOT NULL,
    status TEXT NOT NULL,
    incident_date TEXT NOT NULL,
    reported_on TEXT NOT NULL,
    documents_missing TEXT NOT NULL,
    documents_complete_on TEXT,
    due_on TEXT,
    eligible INTEGER,
    failed_rule TEXT,
    failed_month TEXT,
    rejection_code TEXT,
    approved_idr BIGINT NOT NULL,
    paid_idr BIGINT NOT NULL,
    penalty_due_idr BIGINT NOT NULL,
    penalty_paid_idr BIGINT NOT NULL,
    last_paid_on TEXT,
    state TEXT NOT NULL,
    PRIMARY KEY (program_id, claim_id)
);
CREATE INDEX claim_summary_participant_idx ON claim_summary (participant_id);

-- Every stage of every claim, in order: what happened, its business date, when the
-- ledger recorded it and who did.
CREATE TABLE claim_stages (
    stream_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    program_id TEXT NOT NULL,
    claim_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    business_date TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (stream_id, version)
);
CREATE INDEX claim_stages_claim_idx ON claim_stages (program_id, claim_id);
