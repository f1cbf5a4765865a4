"""Claims: a death or an accident reported, then documents, heirs, assessment, approval or
rejection, payouts, closure and reopening; one claim with its timeline; the program's list
and its claims report.

The steps on a claim share one shape, so their endpoints are made from one table
(``STEPS``), one endpoint per step. A command answers with the claim as it stands
right after, its service level read from the read models (caught up first, so it is
what every report shows): 201 when it appended events, 200 when the ledger already
held the same fact (a document or an heir recorded again). Names (reporter, heirs,
payees) are shown as typed, as a participant's name is: a payout names its payee exactly
as the heir was recorded. A NIK or family-card number typed into free text is masked.
"""

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, TypeVar

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from api.dependencies import participant_uuid
from api.privacy import mask_text
from api.problems import COMMAND_PROBLEMS, READ_PROBLEMS
from api.routes.reports import AS_OF, FILE_DESCRIPTION, FORMAT, POSITION, ReportFormat, download
from ledger import claim
from ledger.claim import (
    ApproveClaim,
    AssessClaim,
    Claim,
    CloseClaim,
    ReceiveDocument,
    RecordHeir,
    RecordPayout,
    RejectClaim,
    ReopenClaim,
    ReportClaim,
)
from ledger.errors import InvalidInput
from ledger.events import (
    Benefit,
    ClaimApproved,
    ClaimAssessed,
    ClaimRejected,
    HeirRecorded,
    PayoutRecorded,
)
from ledger.service import Actor, utc_now
from ledger.system import System
from projections import claims_report, report_files
from projections.claims import ClaimsProjection
from projections.claims_report import ClaimLine, ClaimTimeline, Stage, claim_timeline
from projections.report_files import ProgramClaimsReport


class DocumentView(msgspec.Struct, kw_only=True):
    document: str
    received_on: date


class ClaimView(msgspec.Struct, kw_only=True):
    claim_id: str
    program_id: str
    participant_id: uuid.UUID
    benefit: Benefit
    fatal: bool
    reclassified_from: Benefit | None
    """JKM when a death from a work accident was reported as JKM and recorded as JKK."""
    traffic_accident: bool
    status: str
    incident_date: date
    reported_on: date
    reporter_name: str
    reporter_relation: str
    circumstances: str
    documents_required: list[str]
    documents_received: list[DocumentView]
    documents_missing: list[str]
    documents_complete_on: date | None
    """When the last required document arrived: the service-level clock starts."""
    due_on: date | None
    heirs: list[HeirRecorded]
    assessment: ClaimAssessed | None
    """Eligibility as of the incident date (the first rule that failed, and its month) and
    the benefit lines owed, with the rule versions used."""
    approval: ClaimApproved | None
    rejection: ClaimRejected | None
    payouts: list[PayoutRecorded]
    approved_idr: int
    paid_idr: int
    """Benefit paid, the late penalty apart."""
    outstanding_idr: int
    penalty_idr: int
    """JKK late penalty: owed on late payouts, or accrued so far on an overdue claim."""
    penalty_paid_idr: int
    sla_status: str
    """on_time, late, overdue, pending, documents_incomplete or no_payment."""
    days_late: int
    days_to_payment: int | None


class ClaimDetail(ClaimView, kw_only=True):
    stages: list[Stage]
    """Every event of the claim: its business date, when and by whom it was recorded."""


E = TypeVar("E", bound=msgspec.Struct)
UNCHANGED = ResponseSpec(ClaimView, description="Nothing appended: the ledger already held "
                         "exactly this (the same document or heir again)")
CLAIM_COMMAND_RESPONSES = {200: UNCHANGED, **COMMAND_PROBLEMS}


class ClaimController(Controller):
    path = "/programs/{program_id:str}"
    tags = ["claims"]

    @post("/participants/{participant_id:str}/claims", sync_to_thread=True,
          responses=COMMAND_PROBLEMS,
          summary="Report a death (JKM) or a work accident (JKK); a death ends cover")
    def report(self, program_id: FromPath[str], participant_id: FromPath[str],
               data: JSONBody[ReportClaim], system: NamedDependency[System],
               actor: NamedDependency[Actor],
               command_id: NamedDependency[str | None]) -> ClaimView:
        pid = participant_uuid(participant_id)
        system.ledger.check_program(program_id)
        if data.claim_id is not None and "/" in data.claim_id:
            # A claim id is a segment of the claim's URLs (%2F is decoded before routing).
            raise InvalidInput("claim_id must not contain '/' (write JKK/2024/04 as "
                               "JKK-2024-04)", field="claim_id")
        return decided_view(system.claims.report(program_id, pid, data, actor, command_id))

    @get("/claims", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="Every claim of a program with its service level, in order of report")
    def list_claims(self, program_id: FromPath[str],
                    system: NamedDependency[System]) -> list[ClaimLine]:
        return report_files.claims_report(system, program_id).claims

    @get("/claims/{claim_id:str}", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="One claim: documents, heirs, assessment, payouts, service level, timeline")
    def get_claim(self, program_id: FromPath[str], claim_id: FromPath[str],
                  system: NamedDependency[System]) -> ClaimDetail:
        state, timeline = _read(system, program_id, claim_id)
        return ClaimDetail(**msgspec.structs.asdict(_view(state, timeline.claim)),
                           stages=[msgspec.structs.replace(s, detail=mask_text(s.detail))
                                   for s in timeline.stages])


STEPS: tuple[tuple[str, type[msgspec.Struct], str, str, bool], ...] = (
    ("documents", ReceiveDocument, "receive_document",
     "Record a document received (the checklist depends on the benefit)", True),
    ("heirs", RecordHeir, "record_heir", "Record an heir of a death claim", True),
    ("assessment", AssessClaim, "assess",
     "Assess eligibility as of the incident date and the benefit lines owed", False),
    ("approval", ApproveClaim, "approve",
     "Approve an eligible claim whose required documents are all in", False),
    ("rejection", RejectClaim, "reject",
     "Reject a claim with a reason code (an eligibility rule, or another)", False),
    ("payouts", RecordPayout, "pay",
     "Record a payout of one benefit line (or the late penalty) to a named payee", False),
    ("closure", CloseClaim, "close", "Close a rejected or fully paid claim", False),
    ("reopening", ReopenClaim, "reopen",
     "Reopen a closed or rejected claim, with the reason, to assess it again", False),
)
"""One endpoint per step on a claim: the path's last segment, the body, the ``Claims``
method that decides it, what it does, and whether the same fact again answers 200."""


def claim_step_routes() -> list[HTTPRouteHandler]:
    return [_step_route(*step) for step in STEPS]


def _step_route(segment: str, body: type[msgspec.Struct], method: str, summary: str,
                may_be_unchanged: bool) -> HTTPRouteHandler:
    def handler(program_id: FromPath[str], claim_id: FromPath[str], data: JSONBody[body],
                system: NamedDependency[System], actor: NamedDependency[Actor],
                command_id: NamedDependency[str | None]) -> Response[ClaimView]:
        decide = getattr(system.claims, method)
        return _command(system, program_id, claim_id,
                        lambda: decide(program_id, claim_id, data, actor, command_id))

    handler.__name__ = handler.__qualname__ = method
    return post(f"/programs/{{program_id:str}}/claims/{{claim_id:str}}/{segment}",
                sync_to_thread=True, tags=["claims"], summary=summary,
                responses=CLAIM_COMMAND_RESPONSES if may_be_unchanged else COMMAND_PROBLEMS,
                )(handler)


class ClaimsReportController(Controller):
    path = "/programs/{program_id:str}/reports"
    tags = ["reports"]

    @get("/claims", sync_to_thread=True, responses=READ_PROBLEMS,
         response_description=FILE_DESCRIPTION,
         summary="Claims by benefit and status, days to payment, service-level breaches")
    def claims(self, program_id: FromPath[str], system: NamedDependency[System],
               as_of: Annotated[str | None, AS_OF] = None,
               position: Annotated[int | None, POSITION] = None,
               format: Annotated[ReportFormat, FORMAT] = "json",
               ) -> Response[ProgramClaimsReport]:
        report = report_files.claims_report(system, program_id, as_of, position)
        if format == "json":
            return Response(report)
        return download(report_files.claims_sections(report), format,
                         f"claims-{program_id}-{report.as_of.isoformat()}-{report.position}")


def decided_view(state: Claim) -> ClaimView:
    """The claim as a command left it. Its service level comes from the claims report's
    own code over the same state the claims projection stores, so a read right after
    shows the same figures, without waiting for the projection."""
    return _view(state, claims_report.claim_line(state, utc_now().date()))


def _command(system: System, program_id: str, claim_id: str,
             run: Callable[[], Claim]) -> Response[ClaimView]:
    """Run a command on an existing claim: 201 when it appended events, 200 when not."""
    system.ledger.check_program(program_id)
    stream = claim.stream_id(program_id, claim_id)
    before = system.store.last_position(stream)  # one index lookup, not the stream decoded
    state = run()
    appended = system.store.last_position(stream) > before
    return Response(decided_view(state), status_code=201 if appended else 200)


def _read(system: System, program_id: str, claim_id: str) -> tuple[Claim, ClaimTimeline]:
    """The claim from its stream and its timeline from the read models, caught up first."""
    system.ledger.check_program(program_id)
    state = system.claims.claim(program_id, claim_id)  # an unknown claim is refused by name
    # The claim's rows are folded from its own stream alone.
    system.projections.catch_up_with(claim.stream_id(program_id, claim_id),
                                     only=(ClaimsProjection.name,))
    with system.storage.db.snapshot() as tx:
        timeline = claim_timeline(tx, program_id, claim_id, utc_now().date())
    # The catch-up applied the events of the claim read above, so its row is there.
    assert timeline is not None
    return state, timeline


def _view(state: Claim, line: ClaimLine) -> ClaimView:
    reported = state.reported
    return ClaimView(
        claim_id=reported.claim_id, program_id=reported.program_id,
        participant_id=uuid.UUID(reported.participant_id), benefit=reported.benefit,
        fatal=reported.fatal, reclassified_from=reported.reclassified_from,
        traffic_accident=reported.traffic_accident, status=state.status,
        incident_date=reported.incident_date, reported_on=reported.reported_on,
        reporter_name=reported.reporter_name, reporter_relation=reported.reporter_relation,
        circumstances=mask_text(reported.circumstances),
        documents_required=state.required_documents,
        documents_received=[DocumentView(document=d, received_on=day)
                            for d, day in sorted(state.documents.items())],
        documents_missing=state.missing_documents,
        documents_complete_on=state.documents_complete_on, due_on=state.due_on,
        heirs=[_masked(h, "evidence") for h in state.heirs], assessment=state.assessment,
        approval=state.approved,
        rejection=None if state.rejected is None else _masked(state.rejected, "detail"),
        payouts=[_masked(p, "override_reason") for p in state.payouts],
        approved_idr=line.approved_idr, paid_idr=line.paid_idr,
        outstanding_idr=max(line.approved_idr - line.paid_idr, 0),
        penalty_idr=line.penalty_idr, penalty_paid_idr=state.paid_idr(claim.LATE_PENALTY),
        sla_status=line.sla_status, days_late=line.days_late,
        days_to_payment=line.days_to_payment)


def _masked(event: E, field: str) -> E:
    """The event with the NIKs or family-card numbers typed into its free text masked."""
    text = getattr(event, field)
    return msgspec.structs.replace(event, **{field: mask_text(text)}) if text else event
