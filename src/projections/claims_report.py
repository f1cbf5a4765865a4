"""The claims report of a program and the timeline of one claim, from the claims read model.

Service-level status of a claim as of a day:

    on_time              the benefit was paid in full by its due day
    late                 paid in full after its due day (JKK owes 1% a day: the penalty)
    overdue              due day passed and not paid in full: a breach still running
    pending              documents complete, due day not reached yet
    documents_incomplete no clock yet: the required documents are not all in
    no_payment           rejected, or approved for nothing
"""

import statistics
from datetime import date

import msgspec

from ledger import benefits, claim, service_levels
from ledger.storage import Tx
from projections.claims import decode_state

BREACHES = ("late", "overdue")


class ClaimLine(msgspec.Struct, frozen=True, kw_only=True):
    claim_id: str
    participant_id: str
    benefit: str
    status: str
    incident_date: date
    reported_on: date
    documents_missing: list[str]
    due_on: date | None
    approved_idr: int
    paid_idr: int
    last_paid_on: date | None
    days_to_payment: int | None
    sla_status: str
    days_late: int
    penalty_idr: int
    """JKK late penalty: owed on late payouts, or accrued so far on an overdue claim."""
    failed_rule: str | None


class BenefitStatusCount(msgspec.Struct, frozen=True, kw_only=True):
    benefit: str
    status: str
    claims: int
    approved_idr: int
    paid_idr: int


class ClaimsReport(msgspec.Struct, frozen=True, kw_only=True):
    program_id: str
    as_of: date
    counts: list[BenefitStatusCount]
    median_days_to_payment: float | None
    breaches: list[ClaimLine]
    claims: list[ClaimLine]


class Stage(msgspec.Struct, frozen=True, kw_only=True):
    stage: str
    business_date: date
    recorded_at: str
    actor_id: str
    actor_role: str
    days_since_report: int
    detail: str


class ClaimTimeline(msgspec.Struct, frozen=True, kw_only=True):
    claim: ClaimLine
    stages: list[Stage]


def claims_report(tx: Tx, program_id: str, as_of: date) -> ClaimsReport | None:
    if tx.fetchone("SELECT 1 AS found FROM program_summary WHERE program_id = :program_id",
                   {"program_id": program_id}) is None:
        return None
    lines = [claim_line(decode_state(row), as_of) for row in tx.fetchall(
        "SELECT claim_id, state FROM claim_summary WHERE program_id = :program_id "
        "ORDER BY reported_on, claim_id", {"program_id": program_id})]
    counts: dict[tuple[str, str], list[int]] = {}
    for line in lines:
        count = counts.setdefault((line.benefit, line.status), [0, 0, 0])
        count[0] += 1
        count[1] += line.approved_idr
        count[2] += line.paid_idr
    days = [line.days_to_payment for line in lines if line.days_to_payment is not None]
    return ClaimsReport(
        program_id=program_id, as_of=as_of,
        counts=[BenefitStatusCount(benefit=b, status=s, claims=n, approved_idr=a, paid_idr=p)
                for (b, s), (n, a, p) in sorted(counts.items())],
        median_days_to_payment=statistics.median(days) if days else None,
        breaches=[line for line in lines if line.sla_status in BREACHES], claims=lines)


def claim_timeline(tx: Tx, program_id: str, claim_id: str, as_of: date) -> ClaimTimeline | None:
    row = tx.fetchone("SELECT claim_id, state FROM claim_summary "
                      "WHERE program_id = :program_id AND claim_id = :claim_id",
                      {"program_id": program_id, "claim_id": claim_id})
    if row is None:
        return None
    line = claim_line(decode_state(row), as_of)
    stages = tx.fetchall(
        "SELECT stage, business_date, recorded_at, actor_id, actor_role, detail "
        "FROM claim_stages WHERE program_id = :program_id AND claim_id = :claim_id "
        "ORDER BY version", {"program_id": program_id, "claim_id": claim_id})
    return ClaimTimeline(claim=line, stages=[Stage(
        stage=s["stage"], business_date=date.fromisoformat(s["business_date"]),
        recorded_at=s["recorded_at"], actor_id=s["actor_id"], actor_role=s["actor_role"],
        days_since_report=(date.fromisoformat(s["business_date"]) - line.reported_on).days,
        detail=s["detail"]) for s in stages])


def claim_line(state: claim.Claim, as_of: date) -> ClaimLine:
    """A claim's line of the report, its service level measured on ``as_of``: from the
    state the projection stored, or from the claim a command just decided."""
    reported = state.reported
    approved = state.approved.amount_idr if state.approved else 0
    paid = state.benefit_paid_idr
    paid_days = [p.paid_on for p in state.payouts if p.component != claim.LATE_PENALTY]
    last_paid = max(paid_days) if paid_days else None
    due = state.due_on if state.rejected is None else None  # nothing to pay, no clock
    sla, late, penalty = _sla(state.status, approved, paid, due, last_paid, as_of)
    if sla == "overdue" and reported.benefit == "JKK":
        rules = benefits.rules_on(reported.incident_date)
        penalty = service_levels.late_penalty_idr(approved - paid, late,
                                                  rules.jkk_late_percent_per_day)
    elif reported.benefit == "JKK":
        penalty = state.penalty_due_idr()
    return ClaimLine(
        claim_id=reported.claim_id, participant_id=reported.participant_id,
        benefit=reported.benefit, status=state.status, incident_date=reported.incident_date,
        reported_on=reported.reported_on, documents_missing=state.missing_documents,
        due_on=due, approved_idr=approved, paid_idr=paid, last_paid_on=last_paid,
        days_to_payment=(last_paid - reported.reported_on).days
        if last_paid and approved and paid >= approved else None,
        sla_status=sla, days_late=late, penalty_idr=penalty,
        failed_rule=state.assessment.failed_rule if state.assessment else None)


def _sla(status: str, approved: int, paid: int, due: date | None, last_paid: date | None,
         as_of: date) -> tuple[str, int, int]:
    if status == "rejected" or (status == "closed" and not approved):
        return "no_payment", 0, 0
    if approved and paid >= approved and due is not None:
        late = service_levels.days_late(due, last_paid)
        return ("late" if late else "on_time"), late, 0
    if due is None:
        return "documents_incomplete", 0, 0
    if as_of > due:
        return "overdue", service_levels.days_late(due, as_of), 0
    return "pending", 0, 0
