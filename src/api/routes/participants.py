"""Participants of a program: submit a candidate, list them, read one with its history."""

import uuid
from datetime import date
from typing import Annotated, get_args

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.dependencies import participant_uuid
from api.privacy import participant_view
from api.problems import COMMAND_PROBLEMS, READ_PROBLEMS
from api.routes.streams import HistoryEntry, history_entry
from ledger.errors import InvalidInput
from ledger.events import Sex, TerminationReason
from ledger.participant import CandidateData, Participant, Status
from ledger.service import Actor, RowResult
from ledger.system import System
from ledger.verification import REASON_CODES
from projections import views
from projections.participants import ParticipantsProjection

STATUSES: tuple[str, ...] = get_args(Status)
READ_MODEL = (ParticipantsProjection.name,)
"""The projection these reads need caught up (the others may lag behind it meanwhile)."""
STATUS_LIST = ", ".join(STATUSES)


class Reason(msgspec.Struct, kw_only=True):
    reason: str
    """One of the reason codes in docs/events.md (``nik_not_found``, ``name_differs``...)."""
    detail: str


class ParticipantRow(msgspec.Struct, kw_only=True):
    participant_id: uuid.UUID
    program_id: str
    nik: str
    """Masked: the first 6 and last 4 digits."""
    full_name: str
    birth_date: date
    sex: Sex
    village: str
    submitted_by: str
    occupation: str
    cohort: str
    status: Status
    name_score: int | None
    kpj: str | None
    coverage_start: date | None
    enrollment_batch: str | None
    termination_reason: TerminationReason | None
    terminated_on: date | None
    submissions: int
    version: int


class ParticipantDetail(ParticipantRow, kw_only=True):
    reasons: list[Reason]
    history: list[HistoryEntry]


class ParticipantPage(msgspec.Struct, kw_only=True):
    items: list[ParticipantRow]
    next_after: uuid.UUID | None
    """Pass as ``after`` to get the next page; null on the last page."""


class CommandResult(msgspec.Struct, kw_only=True):
    participant_id: uuid.UUID
    appended_events: int
    status: Status
    reasons: list[Reason]


UNCHANGED = ResponseSpec(CommandResult, description="Nothing appended: the ledger already held "
                         "exactly this (e.g. an identical resubmission)")
IDEMPOTENT_COMMAND_RESPONSES = {200: UNCHANGED, **COMMAND_PROBLEMS}


class ParticipantController(Controller):
    path = "/programs/{program_id:str}/participants"
    tags = ["participants"]

    @post("/", sync_to_thread=True, responses=IDEMPOTENT_COMMAND_RESPONSES,
          summary="Submit a candidate (the same NIK again lands on the same participant)")
    def submit(self, program_id: FromPath[str], data: JSONBody[CandidateData],
               system: NamedDependency[System], actor: NamedDependency[Actor],
               command_id: NamedDependency[str | None]) -> Response[CommandResult]:
        result = system.ledger.submit(program_id, data, actor, command_id)
        return command_result(result)

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="List participants, filtered, one page at a time")
    def list_participants(
        self, program_id: FromPath[str], system: NamedDependency[System],
        status: Annotated[str | None, QueryParameter(description=f"One of {STATUS_LIST}")] = None,
        reason: Annotated[str | None, QueryParameter(description="A mismatch reason code")] = None,
        village: FromQuery[str | None] = None,
        cohort: FromQuery[str | None] = None,
        nik: Annotated[str | None, QueryParameter(
            description="Find one person by NIK (16 digits)")] = None,
        after: Annotated[uuid.UUID | None, QueryParameter(
            description="next_after of the previous page")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> ParticipantPage:
        _check_filters(status, reason)
        system.ledger.check_program(program_id)  # an unknown program is a 404, not an empty page
        system.projections.catch_up(only=READ_MODEL)  # every write acknowledged before
        # One row more than asked tells whether another page follows.
        rows = views.participants(system.storage.db, program_id, status=status, reason=reason,
                                  village=village, cohort=cohort,
                                  nik_hash=system.keyring.nik_hash(nik) if nik else None,
                                  after=str(after) if after else None, limit=limit + 1)
        items = [msgspec.convert(participant_view(row, system.keyring), ParticipantRow)
                 for row in rows[:limit]]
        next_after = items[-1].participant_id if len(rows) > limit else None
        return ParticipantPage(items=items, next_after=next_after)

    @get("/{participant_id:str}", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="One participant: where they stand now and every event of their stream")
    def get_participant(self, program_id: FromPath[str], participant_id: FromPath[str],
                        system: NamedDependency[System]) -> ParticipantDetail:
        pid = participant_uuid(participant_id)
        system.ledger.check_program(program_id)
        recorded = system.ledger.history(program_id, pid)  # refuses one not in the program
        system.projections.catch_up_with(pid, only=READ_MODEL)  # their row is their stream's
        row = views.participant(system.storage.db, program_id, str(pid))
        assert row is not None  # the catch-up applied the events just read
        history = [history_entry(r) for r in recorded]
        return msgspec.convert({**participant_view(row, system.keyring), "history": history},
                               ParticipantDetail)


def command_result(result: RowResult) -> Response[CommandResult]:
    """201 when the command appended events, 200 when it changed nothing. The status and
    reasons are those of the participant as the command decided it, the ones the
    participants projection derives from the same events: a later read shows the same."""
    assert result.state is not None  # a refused row was raised as its error
    body = CommandResult(participant_id=result.participant_id, appended_events=result.appended,
                         status=result.state.status, reasons=_reasons(result.state))
    return Response(body, status_code=201 if result.appended else 200)


def _reasons(state: Participant) -> list[Reason]:
    """As the participants projection keeps them: one per reason code (the last detail
    given for it), in code order."""
    details = {reason.code: reason.detail for reason in state.reasons}
    return [Reason(reason=code, detail=details[code]) for code in sorted(details)]


def _check_filters(status: str | None, reason: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {STATUS_LIST}", field="status")
    if reason is not None and reason not in REASON_CODES:
        raise InvalidInput(f"reason must be one of {', '.join(REASON_CODES)}", field="reason")
