"""Programs: open an agreement (PKS), revise its quota and budget, read where it stands."""

from datetime import date, datetime

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.auth import Caller, ensure_in_scope
from api.problems import COMMAND_PROBLEMS, READ_PROBLEMS
from ledger.errors import ProgramNotFound
from ledger.events import FundingSource
from ledger.program import OpenProgram, ReviseBudget, ReviseQuota
from ledger.service import Actor
from ledger.system import System
from projections import views
from projections.participants import ParticipantsProjection
from projections.programs import ProgramsProjection


class BudgetLine(msgspec.Struct, kw_only=True):
    funding_source: FundingSource
    amount_idr: int


class StatusCounts(msgspec.Struct, kw_only=True):
    awaiting_verification: int
    matched: int
    mismatched: int
    enrolled: int
    terminated: int
    submitted: int
    """All participants, whatever their status."""


class CohortUse(StatusCounts, kw_only=True):
    cohort: str
    quota: int | None
    """None for a cohort the agreement gives no quota of its own."""
    quota_remaining: int | None


class ProgramSummary(msgspec.Struct, kw_only=True):
    program_id: str
    region_code: str
    region_name: str
    fiscal_year: int
    agreement_ref: str
    quota_total: int
    quota_remaining: int
    budget_total_idr: int
    budget: list[BudgetLine]
    coverage_start: date
    coverage_end: date
    enrollment_age_cap: int
    cohorts: list[CohortUse]
    totals: StatusCounts
    opened_at: datetime
    revised_at: datetime | None


class ReasonCount(msgspec.Struct, kw_only=True):
    reason: str
    participants: int


class VillageBacklog(msgspec.Struct, kw_only=True):
    village: str
    awaiting_verification: int
    mismatched: int
    matched: int
    enrolled: int


class Backlog(msgspec.Struct, kw_only=True):
    """Candidates not yet enrollable: mismatched ones by reason, and every village's counts."""

    by_reason: list[ReasonCount]
    by_village: list[VillageBacklog]


class ProgramController(Controller):
    path = "/programs"
    tags = ["programs"]

    @post("/", sync_to_thread=True, responses=COMMAND_PROBLEMS, summary="Open a program (PKS)")
    def open_program(self, data: JSONBody[OpenProgram], system: NamedDependency[System],
                     caller: NamedDependency[Caller], actor: NamedDependency[Actor],
                     command_id: NamedDependency[str | None]) -> ProgramSummary:
        ensure_in_scope(caller, data.region_code)  # the guard sees no body: checked here
        system.ledger.open_program(data, actor, command_id)
        return program_summary(system, data.program_id)

    @get("/{program_id:str}", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="Quota use by cohort, totals by status, budget")
    def get_program(self, program_id: FromPath[str],
                    system: NamedDependency[System]) -> ProgramSummary:
        return program_summary(system, program_id)

    @get("/{program_id:str}/backlog", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="Why candidates are not enrollable yet")
    def get_backlog(self, program_id: FromPath[str], system: NamedDependency[System]) -> Backlog:
        system.ledger.check_program(program_id)  # an unknown program is a 404, not an empty backlog
        system.projections.catch_up(only=(ParticipantsProjection.name,))
        return msgspec.convert(views.backlog(system.storage.db, program_id), Backlog)

    @post("/{program_id:str}/quota-revisions", sync_to_thread=True, responses=COMMAND_PROBLEMS,
          summary="Replace the quota (e.g. APBD-Perubahan)")
    def revise_quota(self, program_id: FromPath[str], data: JSONBody[ReviseQuota],
                     system: NamedDependency[System], actor: NamedDependency[Actor],
                     command_id: NamedDependency[str | None]) -> ProgramSummary:
        system.ledger.revise_quota(program_id, data, actor, command_id)
        return program_summary(system, program_id)

    @post("/{program_id:str}/budget-revisions", sync_to_thread=True, responses=COMMAND_PROBLEMS,
          summary="Replace the budget per funding source")
    def revise_budget(self, program_id: FromPath[str], data: JSONBody[ReviseBudget],
                      system: NamedDependency[System], actor: NamedDependency[Actor],
                      command_id: NamedDependency[str | None]) -> ProgramSummary:
        system.ledger.revise_budget(program_id, data, actor, command_id)
        return program_summary(system, program_id)


def program_summary(system: System, program_id: str) -> ProgramSummary:
    """From the read models, caught up first: a read sees every write acknowledged before it
    (here or in another API process)."""
    system.projections.catch_up(only=(ProgramsProjection.name, ParticipantsProjection.name))
    summary = views.program_summary(system.storage.db, program_id)
    if summary is None:
        raise ProgramNotFound(f"no program {program_id!r}", field="program_id")
    return msgspec.convert(summary, ProgramSummary)
