"""Replay: a participant, a claim's timeline, a program's budget and findings as the ledger
stood at a log position or at a recorded time.

Each answer replays the same projections over the log up to that point
(``projections.as_of``) and reads them with the live queries, so it has the live
endpoint's shape, NIKs masked the same way, plus the ``position`` it stands at.
``at`` is an ISO 8601 time with its UTC offset: the answer is as of the last event
recorded at or before it. A program the ledger never held is not found; one it holds
now but did not yet hold then answers not found for that position.
"""

from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from api.dependencies import participant_uuid
from api.privacy import mask_text, participant_view
from api.problems import READ_PROBLEMS
from api.routes.claims import ClaimDetail
from api.routes.claims import _view as claim_view  # the live mapper: one shape, one masking
from api.routes.participants import ParticipantDetail
from api.routes.streams import history_entry
from ledger.errors import ClaimNotFound, ParticipantNotFound, ProgramNotFound
from ledger.system import System
from projections import as_of
from projections.as_of import LogPoint
from projections.budget import budget_summary
from projections.findings import findings as program_findings
from projections.report_files import BudgetReport, FindingsReport

POSITION = QueryParameter(ge=0, description="A log position: as after the log's first N "
                          "events (give this or at)")
AT = QueryParameter(description="A recorded time, ISO 8601 with its UTC offset, e.g. "
                    f"{as_of.TIME_EXAMPLE} (write + as %2B): as of the last event recorded "
                    "at or before it (give this or position)")


class ParticipantAsOf(ParticipantDetail, kw_only=True):
    position: int
    """The log position the participant stands at; ``history`` stops there too."""


class ClaimAsOf(ClaimDetail, kw_only=True):
    position: int
    """The log position the claim stands at; ``stages`` stop there too."""
    as_of: date
    """The business day the service level is measured on: the day of ``at``, or today."""


class ReplayController(Controller):
    path = "/replay/programs/{program_id:str}"
    tags = ["replay"]

    @get("/participants/{participant_id:str}", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="One participant as they stood at a log position or recorded time")
    def participant(self, program_id: FromPath[str], participant_id: FromPath[str],
                    system: NamedDependency[System],
                    position: Annotated[int | None, POSITION] = None,
                    at: Annotated[str | None, AT] = None) -> ParticipantAsOf:
        pid = participant_uuid(participant_id)
        point = _point(system, program_id, position, at)
        row = as_of.participant_as_of(system, program_id, str(pid), point.position)
        if row is None:
            raise ParticipantNotFound(f"no participant {pid} in program {program_id} in the "
                                      f"log up to position {point.position:,}",
                                      field="participant_id")
        # The row's version is the stream's version at that point: later events are not shown.
        history = [history_entry(r) for r in system.ledger.history(program_id, pid)
                   if r.version <= row["version"]]
        return msgspec.convert({**participant_view(row, system.keyring), "history": history,
                                "position": point.position}, ParticipantAsOf)

    @get("/claims/{claim_id:str}", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="One claim with its timeline as it stood at a log position or recorded time")
    def claim(self, program_id: FromPath[str], claim_id: FromPath[str],
              system: NamedDependency[System],
              position: Annotated[int | None, POSITION] = None,
              at: Annotated[str | None, AT] = None) -> ClaimAsOf:
        point = _point(system, program_id, position, at)
        found = as_of.claim_as_of(system, program_id, claim_id, point)
        if found is None:
            raise ClaimNotFound(f"no claim {claim_id!r} in program {program_id} in the log up "
                                f"to position {point.position:,}", field="claim_id")
        state, timeline = found
        return ClaimAsOf(**msgspec.structs.asdict(claim_view(state, timeline.claim)),
                         stages=[msgspec.structs.replace(s, detail=mask_text(s.detail))
                                 for s in timeline.stages],
                         position=point.position, as_of=point.day)

    @get("/budget", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="The program's budget as it stood at a log position or recorded time")
    def budget(self, program_id: FromPath[str], system: NamedDependency[System],
               position: Annotated[int | None, POSITION] = None,
               at: Annotated[str | None, AT] = None) -> BudgetReport:
        point = _point(system, program_id, position, at)
        summary = as_of.program_as_of(system, program_id, point, budget_summary)
        if summary is None:
            raise _program_not_yet(program_id, point)
        return BudgetReport(program_id=program_id, as_of=point.day, position=point.position,
                            budget=summary)

    @get("/findings", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="The program's findings as they stood at a log position or recorded time")
    def findings(self, program_id: FromPath[str], system: NamedDependency[System],
                 position: Annotated[int | None, POSITION] = None,
                 at: Annotated[str | None, AT] = None) -> FindingsReport:
        point = _point(system, program_id, position, at)
        found = as_of.program_as_of(system, program_id, point, program_findings)
        if found is None:
            raise _program_not_yet(program_id, point)
        return FindingsReport(program_id=program_id, as_of=point.day, position=point.position,
                              findings=found)


def _point(system: System, program_id: str, position: int | None, at: str | None) -> LogPoint:
    system.ledger.program(program_id)  # a program the ledger never held is named as such
    return as_of.log_point(system.store, position, at)


def _program_not_yet(program_id: str, point: LogPoint) -> ProgramNotFound:
    return ProgramNotFound(f"no program {program_id!r} in the log up to position "
                           f"{point.position:,}", field="program_id")
