"""Read queries over the projections: what the API, the CLI and the demo show.

Each function runs plain SQL against the read-model tables and returns plain
dicts; nothing here touches the event log.
"""

from datetime import date
from typing import Any
from uuid import UUID

from ledger import periods
from ledger.bill import RosterEntry
from ledger.contributions import reference_stream_id
from ledger.storage import Database
from projections.contributions import LINE_NIK_MASKED
from projections.participants import STATUSES

PARTICIPANT_COLUMNS = (
    "participant_id", "program_id", "nik_masked", "nik_sealed", "full_name_sealed",
    "birth_date_sealed", "sex",
    "village", "submitted_by", "occupation", "cohort", "status", "name_score", "kpj",
    "coverage_start", "enrollment_batch", "termination_reason", "terminated_on", "submissions",
    "version",
)


def program_ids(db: Database) -> list[str]:
    with db.snapshot() as tx:
        return [row["program_id"] for row in tx.fetchall(
            "SELECT program_id FROM program_summary ORDER BY program_id")]


def program_summary(db: Database, program_id: str) -> dict[str, Any] | None:
    with db.snapshot() as tx:
        program = tx.fetchone(
            "SELECT program_id, region_code, region_name, fiscal_year, agreement_ref, "
            "quota_total, budget_total_idr, coverage_start, coverage_end, enrollment_age_cap, "
            "opened_at, revised_at FROM program_summary WHERE program_id = :program_id",
            {"program_id": program_id})
        if program is None:
            return None
        budget = tx.fetchall("SELECT funding_source, amount_idr FROM program_budget "
                             "WHERE program_id = :program_id ORDER BY funding_source",
                             {"program_id": program_id})
        cohorts = _cohorts(tx, program_id)
    totals = {status: sum(c[status] for c in cohorts) for status in STATUSES}
    totals["submitted"] = sum(totals.values())
    return {
        **program,
        "budget": budget,
        "cohorts": cohorts,
        "totals": totals,
        "quota_remaining": program["quota_total"] - totals["enrolled"],
    }


def _cohorts(tx: Any, program_id: str) -> list[dict[str, Any]]:
    """Quota use per cohort: cohorts with a quota, and any that only have participants."""
    statuses = ", ".join(f"COALESCE(s.{s}, 0) AS {s}" for s in STATUSES)
    rows = tx.fetchall(
        f"SELECT q.cohort AS cohort, q.quota AS quota, {statuses} "
        "FROM program_cohort_quota q LEFT JOIN program_cohort_status s "
        "ON s.program_id = q.program_id AND s.cohort = q.cohort "
        "WHERE q.program_id = :program_id "
        f"UNION ALL SELECT s.cohort, NULL, {statuses} FROM program_cohort_status s "
        "WHERE s.program_id = :program_id AND NOT EXISTS (SELECT 1 FROM program_cohort_quota q "
        "WHERE q.program_id = s.program_id AND q.cohort = s.cohort) ORDER BY cohort",
        {"program_id": program_id})
    for row in rows:
        row["submitted"] = sum(row[s] for s in STATUSES)
        row["quota_remaining"] = None if row["quota"] is None else row["quota"] - row["enrolled"]
    return rows


def backlog(db: Database, program_id: str) -> dict[str, Any]:
    """Candidates not yet enrollable, by mismatch reason and by village."""
    with db.snapshot() as tx:
        by_reason = tx.fetchall(
            "SELECT r.reason AS reason, COUNT(*) AS participants FROM participant_reasons r "
            "JOIN participant_status p ON p.participant_id = r.participant_id "
            "WHERE r.program_id = :program_id AND p.status = 'mismatched' "
            "GROUP BY r.reason ORDER BY participants DESC, reason",
            {"program_id": program_id})
        by_village = tx.fetchall(
            "SELECT village, "
            "SUM(CASE WHEN status = 'awaiting_verification' THEN 1 ELSE 0 END) "
            "AS awaiting_verification, "
            "SUM(CASE WHEN status = 'mismatched' THEN 1 ELSE 0 END) AS mismatched, "
            "SUM(CASE WHEN status = 'matched' THEN 1 ELSE 0 END) AS matched, "
            "SUM(CASE WHEN status = 'enrolled' THEN 1 ELSE 0 END) AS enrolled "
            "FROM participant_status WHERE program_id = :program_id "
            "GROUP BY village ORDER BY mismatched DESC, awaiting_verification DESC, village",
            {"program_id": program_id})
    return {"by_reason": by_reason, "by_village": by_village}


def participant(db: Database, program_id: str, participant_id: str) -> dict[str, Any] | None:
    with db.snapshot() as tx:
        row = tx.fetchone(
            f"SELECT {', '.join(PARTICIPANT_COLUMNS)} FROM participant_status "
            "WHERE program_id = :program_id AND participant_id = :participant_id",
            {"program_id": program_id, "participant_id": participant_id})
        if row is None:
            return None
        row["reasons"] = tx.fetchall(
            "SELECT reason, detail FROM participant_reasons "
            "WHERE participant_id = :participant_id ORDER BY reason",
            {"participant_id": participant_id})
    return row


def participants(db: Database, program_id: str, *, status: str | None = None,
                 reason: str | None = None, village: str | None = None,
                 cohort: str | None = None, nik_hash: str | None = None,
                 after: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """One page, ordered by participant id; pass the last id as ``after`` for the next.
    A NIK is looked up by its keyed hash: the read model holds no NIK to compare with."""
    clauses = ["p.program_id = :program_id"]
    params: dict[str, Any] = {"program_id": program_id, "limit": limit}
    for column, value in (("status", status), ("village", village), ("cohort", cohort),
                          ("nik_hash", nik_hash)):
        if value is not None:
            clauses.append(f"p.{column} = :{column}")
            params[column] = value
    if reason is not None:
        clauses.append("EXISTS (SELECT 1 FROM participant_reasons r WHERE "
                       "r.participant_id = p.participant_id AND r.reason = :reason)")
        params["reason"] = reason
    if after is not None:
        clauses.append("p.participant_id > :after")
        params["after"] = after
    columns = ", ".join(f"p.{c}" for c in PARTICIPANT_COLUMNS)
    with db.snapshot() as tx:
        return tx.fetchall(
            f"SELECT {columns} FROM participant_status p WHERE {' AND '.join(clauses)} "
            "ORDER BY p.participant_id LIMIT :limit", params)


def participant_ids_with_status(db: Database, program_id: str, status: str, *,
                                after: str | None = None, limit: int = 2000) -> list[str]:
    """One page of the ids of a program's participants in ``status``, in id order; pass the
    last id as ``after`` for the next (a million-person program is never one list)."""
    with db.snapshot() as tx:
        rows = tx.fetchall("SELECT participant_id FROM participant_status "
                           "WHERE program_id = :program_id AND status = :status "
                           "AND participant_id > :after ORDER BY participant_id LIMIT :limit",
                           {"program_id": program_id, "status": status, "after": after or "",
                            "limit": limit})
    return [row["participant_id"] for row in rows]


def roster(db: Database, program_id: str) -> list[RosterEntry]:
    """Every participant of a program as billing needs them (``ledger.bill``)."""
    with db.snapshot() as tx:  # member_months joined within the program: read by its index
        rows = tx.fetchall(
            "SELECT s.participant_id AS participant_id, s.nik_hash AS nik_hash, s.kpj AS kpj, "
            "s.status AS status, s.occupation AS occupation, s.coverage_start AS coverage_start, "
            "s.terminated_on AS terminated_on, s.termination_reason AS termination_reason, "
            "m.base_period AS base_period, m.end_idx AS end_idx, m.end_reason AS end_reason "
            "FROM participant_status s LEFT JOIN member_months m "
            "ON m.participant_id = s.participant_id AND m.program_id = s.program_id "
            "WHERE s.program_id = :program_id "
            "ORDER BY s.participant_id", {"program_id": program_id})
    days: dict[str | None, date | None] = {None: None}  # a program has few distinct days
    entries = []
    for row in rows:  # a bill reads 35,000 of these: positional, days parsed once each
        started, ended = row["coverage_start"], row["terminated_on"]
        if started not in days:
            days[started] = _day(started)
        if ended not in days:
            days[ended] = _day(ended)
        lapsed = row["end_reason"] == "lapsed"
        entries.append(RosterEntry(
            row["participant_id"], row["nik_hash"], row["kpj"],
            "lapsed" if lapsed else row["status"], row["occupation"], days[started],
            days[ended], row["termination_reason"],
            periods.shift(row["base_period"], row["end_idx"] + 1) if lapsed else None))
    return entries


def lapsed_from(db: Database, program_id: str) -> dict[str, str]:
    """Participant -> the first unpaid month of a lapsed membership."""
    with db.snapshot() as tx:
        rows = tx.fetchall("SELECT participant_id, base_period, end_idx FROM member_months "
                           "WHERE program_id = :program_id AND end_reason = 'lapsed'",
                           {"program_id": program_id})
    return {row["participant_id"]: periods.shift(row["base_period"], row["end_idx"] + 1)
            for row in rows}


def paid_months(db: Database, program_id: str) -> dict[str, dict[str, date]]:
    """Participant -> month -> the day a standing payment for it was first made."""
    with db.snapshot() as tx:
        rows = tx.fetchall(
            "SELECT participant_id, period, MIN(paid_on) AS paid_on FROM contribution_months "
            "WHERE program_id = :program_id AND participant_id IS NOT NULL "
            "AND payment_ref IS NOT NULL AND refund_ref IS NULL GROUP BY participant_id, period",
            {"program_id": program_id})
    paid: dict[str, dict[str, date]] = {}
    for row in rows:
        paid.setdefault(row["participant_id"], {})[row["period"]] = date.fromisoformat(
            row["paid_on"])
    return paid


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


BILL_COLUMNS = ("bill_id", "source", "document_ref", "issued_on", "funding_source",
                "first_period", "months", "lines", "flagged_lines", "stated_total_idr",
                "billed_idr", "not_tariff_idr", "paid_idr", "refunded_idr")


def bills(db: Database, program_id: str) -> list[dict[str, Any]]:
    """Every bill of a program, in the order they were issued."""
    with db.snapshot() as tx:
        return tx.fetchall(f"SELECT {', '.join(BILL_COLUMNS)} FROM bill_summary "
                           "WHERE program_id = :program_id ORDER BY issued_position",
                           {"program_id": program_id})


def bill(db: Database, program_id: str, bill_id: str) -> dict[str, Any] | None:
    with db.snapshot() as tx:
        return tx.fetchone(f"SELECT {', '.join(BILL_COLUMNS)} FROM bill_summary "
                           "WHERE program_id = :program_id AND bill_id = :bill_id",
                           {"program_id": program_id, "bill_id": bill_id})


def bill_lines(db: Database, program_id: str, bill_id: str, *, limit: int,
               offset: int) -> list[dict[str, Any]]:
    """One page of a bill's lines in line order, each folded from its participant-months
    (a payment settles whole lines, so a line's months share one payment)."""
    with db.snapshot() as tx:
        return tx.fetchall(
            "SELECT c.line_no AS line_no, MIN(c.participant_id) AS participant_id, "
            f"MIN({LINE_NIK_MASKED}) AS nik_masked, MIN(c.period) AS first_period, "
            "COUNT(*) AS months, CAST(SUM(c.amount_idr) AS BIGINT) AS amount_idr, "
            "MIN(c.rule_version) AS rule_version, MIN(c.flags) AS flags, "
            "MIN(c.payment_ref) AS payment_ref, MIN(c.paid_on) AS paid_on, "
            "COUNT(c.refund_ref) AS months_refunded FROM contribution_months c "
            "LEFT JOIN participant_status s ON s.participant_id = c.participant_id "
            "WHERE c.program_id = :program_id AND c.bill_id = :bill_id GROUP BY c.line_no "
            "ORDER BY c.line_no LIMIT :limit OFFSET :offset",
            {"program_id": program_id, "bill_id": bill_id, "limit": limit, "offset": offset})


def paid_months_of(db: Database, participant_id: str) -> dict[str, date]:
    """One participant's months -> the day a standing payment for each was first made."""
    with db.snapshot() as tx:
        rows = tx.fetchall(
            "SELECT period, MIN(paid_on) AS paid_on FROM contribution_months "
            "WHERE participant_id = :participant_id AND payment_ref IS NOT NULL "
            "AND refund_ref IS NULL GROUP BY period", {"participant_id": participant_id})
    return {row["period"]: date.fromisoformat(row["paid_on"]) for row in rows}


def program_streams(db: Database, program_id: str) -> set[UUID]:
    """Every stream of a program that names it: the program, its participants, bills,
    payment and refund references, and claims (for exporting one program's part of the
    log, which adds the KPJ streams its participants took: ``ledger.audit.export``)."""
    key = {"program_id": program_id}
    with db.snapshot() as tx:
        ids = [row["id"] for row in tx.fetchall(
            "SELECT stream_id AS id FROM program_summary WHERE program_id = :program_id "
            "UNION ALL SELECT participant_id FROM participant_status "
            "WHERE program_id = :program_id "
            "UNION ALL SELECT stream_id FROM bill_summary WHERE program_id = :program_id "
            "UNION ALL SELECT stream_id FROM claim_summary WHERE program_id = :program_id", key)]
        references = [row["ref"] for row in tx.fetchall(
            "SELECT payment_ref AS ref FROM bill_payments WHERE program_id = :program_id "
            "UNION ALL SELECT refund_ref FROM bill_refunds WHERE program_id = :program_id", key)]
    return ({UUID(str(i)) for i in ids}
            | {reference_stream_id(program_id, ref) for ref in references})
