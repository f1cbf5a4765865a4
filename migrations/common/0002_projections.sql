-- depends: 0001_event_store
-- Read models. Every table below can be dropped and rebuilt from stored_events;
-- projection_positions records, per projection, the last log position applied,
-- written in the same transaction as the projection's rows.
-- Dates are ISO-8601 TEXT on both backends so the same SQL runs on each.
CREATE TABLE projection_positions (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);

CREATE TABLE program_summary (
    program_id TEXT PRIMARY KEY,
    stream_id TEXT NOT NULL UNIQUE,
    region_code TEXT NOT NULL,
    region_name TEXT NOT NULL,
    fiscal_year INTEGER NOT NULL,
    agreement_ref TEXT NOT NULL,
    quota_total INTEGER NOT NULL,
    budget_total_idr BIGINT NOT NULL,
    coverage_start TEXT NOT NULL,
    coverage_end TEXT NOT NULL,
    enrollment_age_cap INTEGER NOT NULL,
    opened_at TEXT NOT NULL,
    revised_at TEXT
);

CREATE TABLE program_budget (
    program_id TEXT NOT NULL,
    funding_source TEXT NOT NULL,
    amount_idr BIGINT NOT NULL,
    PRIMARY KEY (program_id, funding_source)
);

-- The quota per cohort where the agreement splits it (programs projection).
CREATE TABLE program_cohort_quota (
    program_id TEXT NOT NULL,
    cohort TEXT NOT NULL,
    quota INTEGER NOT NULL,
    PRIMARY KEY (program_id, cohort)
);

-- How many participants of a (program, cohort) stand in each status now
-- (participants projection, kept in step with participant_status).
CREATE TABLE program_cohort_status (
    program_id TEXT NOT NULL,
    cohort TEXT NOT NULL,
    awaiting_verification INTEGER NOT NULL DEFAULT 0,
    matched INTEGER NOT NULL DEFAULT 0,
    mismatched INTEGER NOT NULL DEFAULT 0,
    enrolled INTEGER NOT NULL DEFAULT 0,
    terminated INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, cohort)
);

CREATE TABLE participant_status (
    participant_id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL,
    nik TEXT NOT NULL,
    full_name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    sex TEXT NOT NULL,
    village TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    occupation TEXT NOT NULL,
    cohort TEXT NOT NULL,
    status TEXT NOT NULL,
    name_score INTEGER,
    kpj TEXT,
    coverage_start TEXT,
    enrollment_batch TEXT,
    termination_reason TEXT,
    terminated_on TEXT,
    submissions INTEGER NOT NULL,
    version INTEGER NOT NULL,
    updated_position BIGINT NOT NULL
);
CREATE INDEX participant_status_program_status_idx ON participant_status (program_id, status);
CREATE INDEX participant_status_program_village_idx ON participant_status (program_id, village);
CREATE INDEX participant_status_program_cohort_idx ON participant_status (program_id, cohort);

-- Why a participant is not (yet) matched: one row per reason that applies now.
CREATE TABLE participant_reasons (
    participant_id TEXT NOT NULL,
    program_id TEXT NOT NULL,
    village TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (participant_id, reason)
);
CREATE INDEX participant_reasons_program_reason_idx ON participant_reasons (program_id, reason);
