"""Claim: one JKM (death) or JKK (work accident) claim, from first report to payout.

    reported -> (documents, heirs) -> assessed -> approved -> paid -> closed
                                              -> rejected -> closed;  closed -> reopened

A death claim's stream is keyed by the participant (``death-<participant id>``),
so a second death claim for the same person meets the first instead of opening
another. Eligibility and benefit lines are computed elsewhere (``eligibility``,
``benefits``) and recorded on assessment with their rule versions; this module
decides what may happen next and refuses the rest by name.
"""

import uuid
from datetime import date

import msgspec

from ledger import benefits, eligibility, heirs, service_levels
from ledger.claim_documents import DOCUMENTS, required_documents
from ledger.errors import (
    ClaimNotFound,
    ClaimStateConflict,
    InvalidInput,
    MissingDocuments,
    NotEnrolled,
    PayoutExceedsApproved,
)
from ledger.events import (
    Benefit,
    ClaimApproved,
    ClaimAssessed,
    ClaimClosed,
    ClaimRejected,
    ClaimReopened,
    ClaimReported,
    DocumentReceived,
    Event,
    HeirRecorded,
    PayoutRecorded,
)

CLAIM_NAMESPACE = uuid.UUID("c1a1b2d3-4e5f-4a6b-9c7d-8e9f0a1b2c3d")
LATE_PENALTY = "late_penalty"

REJECTION_CODES = {
    **{rule: "the eligibility rule of that name failed" for rule in eligibility.RULES},
    "documents_invalid": "the documents are false or do not support the claim",
    "not_work_related": "the accident was not connected with work",
    "other": "another reason, given in the detail",
}


def stream_id(program_id: str, claim_id: str) -> uuid.UUID:
    return uuid.uuid5(CLAIM_NAMESPACE, f"claim/{program_id}/{claim_id}")


def death_claim_id(participant_id: str) -> str:
    return f"death-{participant_id}"


class ReportClaim(msgspec.Struct, frozen=True, kw_only=True):
    benefit: Benefit
    incident_date: date
    reported_on: date
    reporter_name: str
    reporter_relation: str
    circumstances: str
    fatal: bool = False
    """For JKK: the accident killed the participant (a JKM claim is always a death)."""
    work_related: bool = False
    """For JKM: the death came from a work accident, which makes it a JKK claim."""
    traffic_accident: bool = False
    claim_id: str | None = None
    """For a non-fatal JKK claim: its number (e.g. BPJS TK's); default from the date."""


class ReceiveDocument(msgspec.Struct, frozen=True, kw_only=True):
    document: str
    received_on: date
    reference: str


class RecordHeir(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    relation: heirs.Relation
    evidence: str
    """What shows the relation, e.g. the family card or the heir certificate's number."""
    recorded_on: date


class AssessClaim(msgspec.Struct, frozen=True, kw_only=True):
    assessed_on: date
    outcome: benefits.JkkOutcome = "treatment"
    """For JKK; a death claim's outcome is always ``death``."""
    medical_cost_idr: int = 0
    transport: list[benefits.TransportCost] = []
    incapacity_months: int = 0
    children: list[benefits.Child] = []


class ApproveClaim(msgspec.Struct, frozen=True, kw_only=True):
    approved_on: date
    note: str = ""


class RejectClaim(msgspec.Struct, frozen=True, kw_only=True):
    rejected_on: date
    reason_code: str
    detail: str


class RecordPayout(msgspec.Struct, frozen=True, kw_only=True):
    payout_ref: str
    payee_name: str
    relation: str
    component: str
    amount_idr: int
    paid_on: date
    override_reason: str | None = None
    """Why a payee lower in the heirs' order is paid while a higher heir is on record."""


class CloseClaim(msgspec.Struct, frozen=True, kw_only=True):
    closed_on: date
    note: str = ""


class ReopenClaim(msgspec.Struct, frozen=True, kw_only=True):
    reopened_on: date
    reason: str


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    reported: ClaimReported
    status: str
    documents: dict[str, date] = {}
    heirs: list[HeirRecorded] = []
    assessment: ClaimAssessed | None = None
    approved: ClaimApproved | None = None
    rejected: ClaimRejected | None = None
    payouts: list[PayoutRecorded] = []

    @property
    def required_documents(self) -> list[str]:
        return required_documents(self.reported, [h.relation for h in self.heirs])

    @property
    def documents_complete_on(self) -> date | None:
        required = self.required_documents
        if any(doc not in self.documents for doc in required):
            return None
        return max(self.documents[doc] for doc in required)

    @property
    def due_on(self) -> date | None:
        """When the benefit must be paid: working days after the documents are complete."""
        complete = self.documents_complete_on
        if complete is None:
            return None
        rules = benefits.rules_on(self.reported.incident_date)
        days = (rules.jkm_due_working_days if self.reported.benefit == "JKM"
                else rules.jkk_due_working_days)
        return service_levels.add_working_days(complete, days)

    @property
    def missing_documents(self) -> list[str]:
        return [doc for doc in self.required_documents if doc not in self.documents]

    @property
    def benefit_paid_idr(self) -> int:
        return sum(p.amount_idr for p in self.payouts if p.component != LATE_PENALTY)

    def paid_idr(self, component: str | None = None) -> int:
        return sum(p.amount_idr for p in self.payouts
                   if component is None or p.component == component)

    def penalty_due_idr(self) -> int:
        """1% a day of every JKK benefit payout made after the due day."""
        due = self.due_on
        if self.reported.benefit != "JKK" or due is None:
            return 0
        rules = benefits.rules_on(self.reported.incident_date)
        return sum(service_levels.late_penalty_idr(
            p.amount_idr, service_levels.days_late(due, p.paid_on),
            rules.jkk_late_percent_per_day) for p in self.payouts if p.component != LATE_PENALTY)


def evolve(state: Claim | None, event: Event) -> Claim:
    match event:
        case ClaimReported():
            return Claim(reported=event, status="reported")
        case DocumentReceived():
            # The clock runs from a document's first arrival; a later copy does not move it.
            first = state.documents.get(event.document, event.received_on)
            return msgspec.structs.replace(
                state, documents={**state.documents, event.document: first})
        case HeirRecorded():
            return msgspec.structs.replace(state, heirs=[*state.heirs, event])
        case ClaimAssessed():
            return msgspec.structs.replace(state, status="assessed", assessment=event)
        case ClaimApproved():
            return msgspec.structs.replace(state, status="approved", approved=event)
        case ClaimRejected():
            return msgspec.structs.replace(state, status="rejected", rejected=event)
        case PayoutRecorded():
            return msgspec.structs.replace(state, status="paid", payouts=[*state.payouts, event])
        case ClaimClosed():
            return msgspec.structs.replace(state, status="closed")
        case ClaimReopened():
            return msgspec.structs.replace(state, status="reported", assessment=None,
                                           approved=None, rejected=None)
    raise ValueError(f"{event.TYPE} does not belong to a claim stream")


def report(state: Claim | None, program_id: str, participant_id: str,
           coverage_start: date | None, command: ReportClaim, today: date) -> list[Event]:
    if state is not None:
        raise ClaimStateConflict(
            f"claim {state.reported.claim_id} is already recorded ({state.status}); "
            f"reopen it instead of reporting it again", field="claim_id")
    if coverage_start is None:
        raise NotEnrolled("the participant was never enrolled: there is no cover to claim",
                          field="participant_id")
    _check_dates(command, coverage_start, today)
    for field in ("reporter_name", "reporter_relation", "circumstances"):
        if not getattr(command, field).strip():
            raise InvalidInput(f"{field} must not be blank", field=field)
    benefit, fatal, reclassified = command.benefit, command.fatal, None
    if benefit == "JKM":
        fatal = True
        if command.work_related:
            benefit, reclassified = "JKK", "JKM"
    claim_id = (death_claim_id(participant_id) if fatal
                else command.claim_id or f"JKK-{command.incident_date.isoformat()}")
    return [ClaimReported(
        claim_id=claim_id, program_id=program_id, participant_id=participant_id,
        benefit=benefit, fatal=fatal, incident_date=command.incident_date,
        reported_on=command.reported_on, reporter_name=command.reporter_name,
        reporter_relation=command.reporter_relation, circumstances=command.circumstances,
        traffic_accident=command.traffic_accident, reclassified_from=reclassified)]


def receive_document(state: Claim | None, command: ReceiveDocument,
                     today: date) -> list[Event]:
    state = _open(state)
    if command.document not in DOCUMENTS:
        raise InvalidInput(f"unknown document {command.document!r}; one of {sorted(DOCUMENTS)}",
                           field="document")
    if not state.reported.incident_date <= command.received_on <= today:
        raise InvalidInput("received_on must fall between the incident and today",
                           field="received_on")
    if command.document in state.documents:
        return []
    if not command.reference.strip():
        raise InvalidInput("reference (the document's number or file) must not be blank",
                           field="reference")
    return [DocumentReceived(document=command.document, received_on=command.received_on,
                             reference=command.reference)]


def record_heir(state: Claim | None, command: RecordHeir, today: date) -> list[Event]:
    state = _open(state)
    if not state.reported.fatal:
        raise InvalidInput("heirs are recorded on death claims only", field="relation")
    if command.relation not in heirs.RANK and command.relation != "funeral_arranger":
        raise InvalidInput(f"relation must be one of {sorted(heirs.RANK)} or funeral_arranger",
                           field="relation")
    for field in ("name", "evidence"):
        if not getattr(command, field).strip():
            raise InvalidInput(f"{field} must not be blank", field=field)
    if not state.reported.reported_on <= command.recorded_on <= today:
        raise InvalidInput("recorded_on must fall between the report and today",
                           field="recorded_on")
    if any((h.name, h.relation) == (command.name, command.relation) for h in state.heirs):
        return []
    return [HeirRecorded(name=command.name, relation=command.relation,
                         evidence=command.evidence, recorded_on=command.recorded_on)]


def assess(state: Claim | None, command: AssessClaim, verdict: eligibility.Verdict,
           declared_income_idr: int, today: date) -> list[Event]:
    state = _open(state)
    if state.status not in ("reported", "assessed"):
        raise ClaimStateConflict(f"a claim that is {state.status} cannot be assessed again; "
                                 f"reopen it first", field="claim_id")
    if not state.reported.reported_on <= command.assessed_on <= today:
        raise InvalidInput("assessed_on must fall between the report and today",
                           field="assessed_on")
    outcome = "death" if state.reported.fatal else command.outcome
    if outcome == "death" and not state.reported.fatal:
        raise InvalidInput("a death from this accident needs a fatal claim: report it as a "
                           "death", field="outcome")
    rules = benefits.rules_on(state.reported.incident_date)
    facts = benefits.ClaimFacts(
        outcome=outcome, declared_income_idr=declared_income_idr,
        contribution_months=verdict.contribution_months,
        medical_cost_idr=command.medical_cost_idr, transport=command.transport,
        incapacity_months=command.incapacity_months, children=command.children)
    lines = []
    if verdict.eligible:
        lines = (benefits.jkm_lines(facts, rules) if state.reported.benefit == "JKM"
                 else benefits.jkk_lines(facts, rules))
    return [ClaimAssessed(
        assessed_on=command.assessed_on, eligible=verdict.eligible,
        failed_rule=verdict.rule, failed_month=verdict.month, detail=verdict.detail,
        outcome=outcome, declared_income_idr=declared_income_idr,
        contribution_months=verdict.contribution_months, lines=lines,
        benefit_rule_version=rules.version,
        coverage_rule_version=verdict.coverage_rule_version)]


def approve(state: Claim | None, command: ApproveClaim, today: date) -> list[Event]:
    state = _open(state)
    assessment = state.assessment
    if state.status != "assessed" or assessment is None:
        raise ClaimStateConflict(f"only an assessed claim can be approved; this one is "
                                 f"{state.status}", field="claim_id")
    if not assessment.eligible:
        raise ClaimStateConflict(f"the assessment found the claim ineligible "
                                 f"({assessment.failed_rule}); reject it", field="claim_id")
    missing = state.missing_documents
    if missing:
        raise MissingDocuments(f"documents still missing: {', '.join(missing)}",
                               field="documents")
    _check_day(command.approved_on, assessment.assessed_on, today, "approved_on")
    return [ClaimApproved(approved_on=command.approved_on,
                          amount_idr=sum(line.amount_idr for line in assessment.lines),
                          note=command.note)]


def reject(state: Claim | None, command: RejectClaim, today: date) -> list[Event]:
    state = _open(state)
    _check_day(command.rejected_on, state.reported.reported_on, today, "rejected_on")
    if state.status not in ("reported", "assessed"):
        raise ClaimStateConflict(f"a claim that is {state.status} cannot be rejected",
                                 field="claim_id")
    if command.reason_code not in REJECTION_CODES:
        raise InvalidInput(f"reason_code must be one of {sorted(REJECTION_CODES)}",
                           field="reason_code")
    if not command.detail.strip():
        raise InvalidInput("say why in detail", field="detail")
    failed_month = state.assessment.failed_month if state.assessment else None
    return [ClaimRejected(rejected_on=command.rejected_on, reason_code=command.reason_code,
                          detail=command.detail, failed_month=failed_month)]


def pay(state: Claim | None, command: RecordPayout, today: date) -> list[Event]:
    state = _open(state)
    if state.status not in ("approved", "paid") or state.assessment is None:
        raise ClaimStateConflict(f"only an approved claim is paid; this one is {state.status}",
                                 field="claim_id")
    if any(p.payout_ref == command.payout_ref for p in state.payouts):
        raise InvalidInput(f"payout {command.payout_ref} is already recorded",
                           field="payout_ref")
    if command.amount_idr <= 0:
        raise InvalidInput("amount_idr must be a positive number of Rupiah", field="amount_idr")
    if not state.approved.approved_on <= command.paid_on <= today:
        raise InvalidInput("paid_on must fall between the approval and today", field="paid_on")
    _check_payee(state, command)
    if command.component == LATE_PENALTY:
        owed = state.penalty_due_idr() - state.paid_idr(LATE_PENALTY)
    else:
        line = next((ln for ln in state.assessment.lines if ln.component == command.component),
                    None)
        if line is None:
            raise InvalidInput(f"component must be one of the approved benefit lines "
                               f"{[ln.component for ln in state.assessment.lines]} or "
                               f"{LATE_PENALTY}", field="component")
        owed = line.amount_idr - state.paid_idr(command.component)
    if command.amount_idr > owed:
        raise PayoutExceedsApproved(f"Rp{command.amount_idr:,} is more than the Rp{owed:,} "
                                    f"still owed for {command.component}", field="amount_idr")
    return [PayoutRecorded(payout_ref=command.payout_ref, payee_name=command.payee_name,
                           relation=command.relation, component=command.component,
                           amount_idr=command.amount_idr, paid_on=command.paid_on,
                           override_reason=command.override_reason)]


def close(state: Claim | None, command: CloseClaim, today: date) -> list[Event]:
    """Close a rejected claim, or an approved one with its benefit and any late penalty
    paid in full (an approval for nothing included)."""
    state = _open(state)
    _check_day(command.closed_on, state.reported.reported_on, today, "closed_on")
    if state.status == "rejected":
        return [ClaimClosed(closed_on=command.closed_on, note=command.note)]
    if state.approved is None:
        raise ClaimStateConflict(f"only a rejected or fully paid claim can be closed; this one "
                                 f"is {state.status}", field="claim_id")
    owed = state.approved.amount_idr - state.benefit_paid_idr
    penalty = state.penalty_due_idr() - state.paid_idr(LATE_PENALTY)
    if owed > 0 or penalty > 0:
        raise ClaimStateConflict(f"Rp{owed:,} of the benefit and Rp{penalty:,} of late "
                                 f"penalty are still unpaid", field="claim_id")
    return [ClaimClosed(closed_on=command.closed_on, note=command.note)]


def reopen(state: Claim | None, command: ReopenClaim, today: date) -> list[Event]:
    if state is None:
        raise ClaimNotFound("no such claim", field="claim_id")
    _check_day(command.reopened_on, state.reported.reported_on, today, "reopened_on")
    if state.status not in ("closed", "rejected"):
        raise ClaimStateConflict(f"only a closed or rejected claim is reopened; this one is "
                                 f"{state.status}", field="claim_id")
    if not command.reason.strip():
        raise InvalidInput("a reopening needs its reason", field="reason")
    return [ClaimReopened(reopened_on=command.reopened_on, reason=command.reason)]


def _check_dates(command: ReportClaim, coverage_start: date, today: date) -> None:
    if command.incident_date > today:
        raise InvalidInput("incident_date is in the future", field="incident_date")
    if command.incident_date < coverage_start:
        raise InvalidInput(f"incident_date is before the participant's coverage started "
                           f"({coverage_start})", field="incident_date")
    if not command.incident_date <= command.reported_on <= today:
        raise InvalidInput("reported_on must fall between the incident and today",
                           field="reported_on")


def _check_payee(state: Claim, command: RecordPayout) -> None:
    if not command.payee_name.strip():
        raise InvalidInput("payee_name must not be blank", field="payee_name")
    if not state.reported.fatal:
        if command.relation != "self":
            raise InvalidInput("a non-fatal claim is paid to the participant (relation self)",
                               field="relation")
        return
    if command.relation == "funeral_arranger":
        if command.component != "funeral":
            raise InvalidInput("whoever arranged the funeral receives the funeral benefit only",
                               field="component")
    elif not any((h.name, h.relation) == (command.payee_name, command.relation)
                 for h in state.heirs):
        # The message names the relation, never the payee: error messages carry no names.
        raise InvalidInput(f"the payee is not a recorded heir ({command.relation}); "
                           "record the heir first", field="payee_name")
    before = heirs.outranked_by(command.relation, [h.relation for h in state.heirs])
    if before is not None and not (command.override_reason or "").strip():
        raise InvalidInput(f"a recorded {before} comes before a {command.relation} in the "
                           f"heirs' order; give override_reason to pay anyway",
                           field="override_reason")


def _check_day(day: date, earliest: date, today: date, field: str) -> None:
    if not earliest <= day <= today:
        raise InvalidInput(f"{field} must fall between {earliest} and today", field=field)


def _open(state: Claim | None) -> Claim:
    if state is None:
        raise ClaimNotFound("no such claim", field="claim_id")
    if state.status == "closed":
        raise ClaimStateConflict("the claim is closed; reopen it first", field="claim_id")
    return state
