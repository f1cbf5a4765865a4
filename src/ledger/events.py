"""Every fact the ledger records, as an immutable event with a stable type name.

Events are msgspec Structs holding business data only: ids, dates, integer
Rupiah, no floats and nothing derived. Who recorded a fact and when travels
beside it in ``EventMeta``; the stored form is ``{"meta": ..., "data": ...}``
under the event's ``TYPE`` (for example ``participant.enrolled.v1``), which is
what the log stores as its topic. Type names never come from module paths, so
stored events stay readable after code moves; a changed payload gets a new
version suffix and the old class stays to read old events.

docs/events.md describes every type below and a test keeps it in step.
"""

from datetime import date, datetime
from typing import ClassVar, Literal

import msgspec

Sex = Literal["L", "P"]
"""L = laki-laki (male), P = perempuan (female), as on the KTP and in the NIK."""

FundingSource = Literal["APBD", "APBN", "CSR", "DANA_DESA"]
VerificationOutcome = Literal["matched", "mismatched"]
VerificationMethod = Literal["registry", "manual"]
TerminationReason = Literal["died", "moved", "withdrawn"]
BillSource = Literal["generated", "imported"]
Benefit = Literal["JKM", "JKK"]
ReferenceKind = Literal["payment", "refund"]


class Event(msgspec.Struct, frozen=True, kw_only=True):
    TYPE: ClassVar[str]


class EventMeta(msgspec.Struct, frozen=True, kw_only=True):
    """Who recorded an event, when (UTC), and under which command id."""

    actor_id: str
    actor_role: str
    recorded_at: datetime
    command_id: str | None = None


# Program (one cooperation agreement, PKS, of a region with BPJS TK for a fiscal year)


class ProgramOpened(Event, frozen=True, kw_only=True):
    TYPE = "program.opened.v1"
    program_id: str
    region_code: str
    region_name: str
    fiscal_year: int
    agreement_ref: str
    quota_total: int
    cohort_quotas: dict[str, int]
    budget_idr: dict[FundingSource, int]
    coverage_start: date
    coverage_end: date
    enrollment_age_cap: int
    p3ke_cohorts: list[str] = []


class ProgramQuotaRevised(Event, frozen=True, kw_only=True):
    """A new quota replacing the old one in full, e.g. by APBD-Perubahan."""

    TYPE = "program.quota_revised.v1"
    quota_total: int
    cohort_quotas: dict[str, int]
    reason: str
    revision_ref: str


class ProgramBudgetRevised(Event, frozen=True, kw_only=True):
    """A new budget per funding source replacing the old one in full."""

    TYPE = "program.budget_revised.v1"
    budget_idr: dict[FundingSource, int]
    reason: str
    revision_ref: str


class SeatAllocated(Event, frozen=True, kw_only=True):
    """One quota seat taken by an enrollment; written with it, atomically, so
    that two enrollments racing for the last seat cannot both win."""

    TYPE = "program.seat_allocated.v1"
    participant_id: str
    cohort: str


class SeatReleased(Event, frozen=True, kw_only=True):
    """A seat given back when an enrolled participant is terminated."""

    TYPE = "program.seat_released.v1"
    participant_id: str
    cohort: str


# Participant (one person, by NIK, in one program)


class CandidateSubmitted(Event, frozen=True, kw_only=True):
    """A village's submission of a candidate. Submitting the same NIK again
    appends another of these to the same stream; it never makes a second person."""

    TYPE = "participant.submitted.v1"
    program_id: str
    nik: str
    full_name: str
    birth_date: date
    sex: Sex
    mother_name: str
    address: str
    village: str
    occupation: str
    cohort: str
    submitted_by: str


class CandidateCorrected(Event, frozen=True, kw_only=True):
    """Corrected identity data; fields left out are unchanged. Sends the
    candidate back to verification."""

    TYPE = "participant.corrected.v1"
    reason: str
    full_name: str | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    mother_name: str | None = None
    address: str | None = None
    village: str | None = None
    occupation: str | None = None
    cohort: str | None = None


class MismatchReason(msgspec.Struct, frozen=True, kw_only=True):
    """Why a candidate is tidak padan. ``code`` is one of docs/events.md's reason codes."""

    code: str
    field: str
    detail: str
    score: int | None = None


class VerificationRecorded(Event, frozen=True, kw_only=True):
    """The outcome of matching (pemadanan) against the civil registry, or of a
    verification done elsewhere and recorded by hand (method ``manual``)."""

    TYPE = "participant.verified.v1"
    outcome: VerificationOutcome
    reasons: list[MismatchReason]
    method: VerificationMethod
    source: str
    verified_on: date
    name_score: int | None = None


class ParticipantEnrolled(Event, frozen=True, kw_only=True):
    TYPE = "participant.enrolled.v1"
    kpj: str
    coverage_start: date
    batch: str


class KpjTaken(Event, frozen=True, kw_only=True):
    """A KPJ (the BPJS TK membership number) taken by one participant of a program, with
    the first enrollment under it. Its stream, one per program and KPJ, can hold one
    event only, so no two people of a program are enrolled with one KPJ, and a bill BPJS
    sends that names members by KPJ names each one person."""

    TYPE = "participant.kpj_taken.v1"
    participant_id: str
    kpj: str


class ParticipantTerminated(Event, frozen=True, kw_only=True):
    TYPE = "participant.terminated.v1"
    reason: TerminationReason
    effective_date: date
    note: str = ""


class ParticipantLapsed(Event, frozen=True, kw_only=True):
    """Membership ended because more consecutive months went unpaid than the coverage
    rules allow; the person must be enrolled again to be covered."""

    TYPE = "participant.lapsed.v1"
    lapsed_from: str
    lapsed_on: date
    unpaid_periods: list[str]
    coverage_rule_version: str


# Bill (tagihan): what BPJS TK asks a program to pay for some months, and its payments


class BillLine(msgspec.Struct, frozen=True, kw_only=True):
    """One participant's months on a bill. ``amount_idr`` is the line's total for
    ``months`` months from ``first_period``, at one tariff per month."""

    participant_id: str | None
    nik: str
    """The NIK as an imported bill's file gave it (empty when the file named the person by
    KPJ alone). Empty on a generated bill: its lines name the participant by
    ``participant_id``, whose stream holds the NIK, and a copy on every monthly line would
    only spread personal data (UU PDP 27/2022) through the log."""
    kpj: str | None
    first_period: str
    months: int
    amount_idr: int
    rule_version: str | None
    flags: list[str] = []


class BillIssued(Event, frozen=True, kw_only=True):
    TYPE = "bill.issued.v1"
    bill_id: str
    program_id: str
    source: BillSource
    document_ref: str
    issued_on: date
    funding_source: FundingSource
    first_period: str
    months: int
    stated_total_idr: int
    lines: list[BillLine]


class LineSpan(msgspec.Struct, frozen=True):
    """Bill lines ``first`` to ``last`` (numbered from 1, both included)."""

    first: int
    last: int


class PaymentRecorded(Event, frozen=True, kw_only=True):
    TYPE = "bill.payment_recorded.v1"
    payment_ref: str
    paid_on: date
    amount_idr: int
    funding_source: FundingSource
    settled: list[LineSpan]


class PaymentReversed(Event, frozen=True, kw_only=True):
    TYPE = "bill.payment_reversed.v1"
    payment_ref: str
    reversed_on: date
    reason: str


class RefundLine(msgspec.Struct, frozen=True, kw_only=True):
    line: int
    period: str
    amount_idr: int


class RefundRecorded(Event, frozen=True, kw_only=True):
    TYPE = "bill.refund_recorded.v1"
    refund_ref: str
    payment_ref: str
    refunded_on: date
    amount_idr: int
    reason: str
    lines: list[RefundLine]


class ReferenceUsed(Event, frozen=True, kw_only=True):
    """A payment or refund reference (SP2D number, BPJS receipt) taken within a
    program: its stream can hold one event only, so no reference is used twice."""

    TYPE = "payment.reference_used.v1"
    reference: str
    kind: ReferenceKind
    bill_id: str


# Claim: one JKM or JKK claim of one participant, from first report to payout


class ClaimReported(Event, frozen=True, kw_only=True):
    TYPE = "claim.reported.v2"
    claim_id: str
    program_id: str
    participant_id: str
    benefit: Benefit
    fatal: bool
    incident_date: date
    reported_on: date
    reporter_name: str
    reporter_relation: str
    circumstances: str
    traffic_accident: bool
    reclassified_from: Benefit | None = None


class DocumentReceived(Event, frozen=True, kw_only=True):
    TYPE = "claim.document_received.v2"
    document: str
    received_on: date
    reference: str


class HeirRecorded(Event, frozen=True, kw_only=True):
    TYPE = "claim.heir_recorded.v2"
    name: str
    relation: str
    evidence: str
    recorded_on: date


class BenefitLine(msgspec.Struct, frozen=True, kw_only=True):
    """One component of a benefit, computed by ``ledger.benefits`` under ``rule_version``."""

    component: str
    amount_idr: int
    basis: str
    rule_version: str


class ClaimAssessed(Event, frozen=True, kw_only=True):
    TYPE = "claim.assessed.v1"
    assessed_on: date
    eligible: bool
    failed_rule: str | None
    failed_month: str | None
    detail: str
    outcome: str
    declared_income_idr: int
    contribution_months: int
    lines: list[BenefitLine]
    benefit_rule_version: str
    coverage_rule_version: str


class ClaimApproved(Event, frozen=True, kw_only=True):
    TYPE = "claim.approved.v1"
    approved_on: date
    amount_idr: int
    note: str


class ClaimRejected(Event, frozen=True, kw_only=True):
    TYPE = "claim.rejected.v2"
    rejected_on: date
    reason_code: str
    detail: str
    failed_month: str | None = None


class PayoutRecorded(Event, frozen=True, kw_only=True):
    TYPE = "claim.payout_recorded.v2"
    payout_ref: str
    payee_name: str
    relation: str
    component: str
    amount_idr: int
    paid_on: date
    override_reason: str | None = None


class ClaimClosed(Event, frozen=True, kw_only=True):
    TYPE = "claim.closed.v1"
    closed_on: date
    note: str


class ClaimReopened(Event, frozen=True, kw_only=True):
    TYPE = "claim.reopened.v1"
    reopened_on: date
    reason: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        ProgramOpened,
        ProgramQuotaRevised,
        ProgramBudgetRevised,
        SeatAllocated,
        SeatReleased,
        CandidateSubmitted,
        CandidateCorrected,
        VerificationRecorded,
        ParticipantEnrolled,
        KpjTaken,
        ParticipantTerminated,
        ParticipantLapsed,
        BillIssued,
        PaymentRecorded,
        PaymentReversed,
        RefundRecorded,
        ReferenceUsed,
        ClaimReported,
        DocumentReceived,
        HeirRecorded,
        ClaimAssessed,
        ClaimApproved,
        ClaimRejected,
        PayoutRecorded,
        ClaimClosed,
        ClaimReopened,
    )
}


SUPERSEDED_TYPES: dict[str, type[Event]] = {
    "claim.reported.v1": ClaimReported,
    "claim.document_received.v1": DocumentReceived,
    "claim.heir_recorded.v1": HeirRecorded,
    "claim.rejected.v1": ClaimRejected,
    "claim.payout_recorded.v1": PayoutRecorded,
}
"""Type names a log may still hold that the ledger no longer writes, and the class each is
read into. Their payloads are the same as their successors'; what changed is what the
log stores sealed. v1 kept a claim's free text in the clear: its circumstances (health
details), its documents' references (a death certificate's number), its heirs' evidence
(a family card's number), a rejection's detail and a payout's override reason, where an
officer may name anyone; v2 seals them. The log is append-only, so the old events stay."""

READABLE_TYPES: dict[str, type[Event]] = {**EVENT_TYPES, **SUPERSEDED_TYPES}
"""Every type name the log may hold, and the class each is read into."""


def type_names(classes: tuple[type[Event], ...]) -> tuple[str, ...]:
    """Every type name the log may hold an event of these classes under, superseded ones
    included: what a reader that wants only these events asks the log for."""
    return tuple(sorted(name for name, cls in READABLE_TYPES.items()
                        if issubclass(cls, classes)))


PersonalFields = dict[str, tuple[tuple[str, ...], ...]]
"""Personal-data fields by event type, as paths into the payload."""

PERSONAL_FIELDS: PersonalFields = {
    CandidateSubmitted.TYPE: (("nik",), ("full_name",), ("birth_date",), ("mother_name",),
                              ("address",)),
    CandidateCorrected.TYPE: (("full_name",), ("birth_date",), ("mother_name",), ("address",)),
    BillIssued.TYPE: (("lines", "*", "nik"),),
    ClaimReported.TYPE: (("reporter_name",), ("circumstances",)),
    DocumentReceived.TYPE: (("reference",),),
    HeirRecorded.TYPE: (("name",), ("evidence",)),
    ClaimRejected.TYPE: (("detail",),),
    PayoutRecorded.TYPE: (("payee_name",), ("override_reason",)),
    # As the superseded types stored them.
    "claim.reported.v1": (("reporter_name",),),
    "claim.heir_recorded.v1": (("name",),),
    "claim.payout_recorded.v1": (("payee_name",),),
}
"""Where each type holds personal data (UU PDP 27/2022), as paths into its payload
(``*`` is every item of a list). The log stores these values sealed
(``ledger.codec``); everything else stays readable without the key."""
