-- depends: 0002_projections
-- Read models of contributions (the contributions projection); all rebuildable from
-- stored_events. Periods are 'YYYY-MM' TEXT, dates ISO TEXT, money whole Rupiah.

CREATE TABLE bill_summary (
    program_id TEXT NOT NULL,
    bill_id TEXT NOT NULL,
    stream_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    document_ref TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    issued_position BIGINT NOT NULL,
    funding_source TEXT NOT NULL,
    first_period TEXT NOT NULL,
    months INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    flagged_lines INTEGER NOT NULL,
    stated_total_idr BIGINT NOT NULL,
    billed_idr BIGINT NOT NULL,
    not_tariff_idr BIGINT NOT NULL,
    paid_idr BIGINT NOT NULL,
    refunded_idr BIGINT NOT NULL,
    PRIMARY KEY (program_id, bill_id)
);

CREATE TABLE bill_payments (
    program_id TEXT NOT NULL,
    payment_ref TEXT NOT NULL,
    bill_id TEXT NOT NULL,
    paid_on TEXT NOT NULL,
    amount_idr BIGINT NOT NULL,
    funding_source TEXT NOT NULL,
    lines INTEGER NOT NULL,
    reversed_on TEXT,
    reversal_reason TEXT,
    PRIMARY KEY (program_id, payment_ref)
);

CREATE TABLE bill_refunds (
    program_id TEXT NOT NULL,
    refund_ref TEXT NOT NULL,
    bill_id TEXT NOT NULL,
    payment_ref TEXT NOT NULL,
    refunded_on TEXT NOT NULL,
    amount_idr BIGINT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (program_id, refund_ref)
);

-- One row per participant-month on a bill line, with the payment that settles it now.
CREATE TABLE contribution_months (
    program_id TEXT NOT NULL,
    bill_id TEXT NOT NULL,
    line_no INTEGER NOT NULL,
    period TEXT NOT NULL,
    participant_id TEXT,
    nik TEXT NOT NULL,
    amount_idr BIGINT NOT NULL,
    rule_version TEXT,
    flags TEXT NOT NULL,
    payment_ref TEXT,
    paid_on TEXT,
    refund_ref TEXT,
    refunded_on TEXT,
    PRIMARY KEY (program_id, bill_id, line_no, period)
);
CREATE INDEX contribution_months_participant_idx ON contribution_months (participant_id, period);
CREATE INDEX contribution_months_flagged_idx ON contribution_months (program_id)
    WHERE flags <> '';

-- Every enrolled member's months as bit masks over the program's coverage window
-- (bit 0 = the window's first month), so that "who is unpaid", "paid twice" and
-- "paid after death" are one indexed scan of one row per member. nik_shared is 1 when
-- another program has a member with the same NIK (a province and a regency paying for
-- one person): the few rows the cross-program check has to look at.
CREATE TABLE member_months (
    participant_id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL,
    nik TEXT NOT NULL,
    base_period TEXT NOT NULL,
    first_idx INTEGER NOT NULL,
    end_idx INTEGER,
    end_reason TEXT,
    paid_mask BIGINT NOT NULL,
    covered_mask BIGINT NOT NULL,
    double_mask BIGINT NOT NULL,
    nik_shared INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX member_months_program_idx ON member_months (program_id);
CREATE INDEX member_months_nik_idx ON member_months (nik);
CREATE INDEX member_months_shared_idx ON member_months (program_id) WHERE nik_shared = 1;

-- Billed, paid and refunded per program and contribution month (the monthly series)...
CREATE TABLE program_months (
    program_id TEXT NOT NULL,
    period TEXT NOT NULL,
    billed_idr BIGINT NOT NULL DEFAULT 0,
    paid_idr BIGINT NOT NULL DEFAULT 0,
    refunded_idr BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, period)
);

-- ...and per funding source (billed by the bill's source, paid by the payment's).
CREATE TABLE program_funding (
    program_id TEXT NOT NULL,
    funding_source TEXT NOT NULL,
    billed_idr BIGINT NOT NULL DEFAULT 0,
    paid_idr BIGINT NOT NULL DEFAULT 0,
    refunded_idr BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, funding_source)
);
