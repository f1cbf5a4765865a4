"""Program: one cooperation agreement (PKS) of a region with BPJS TK for a fiscal year.

It holds the quota (in total and per cohort where the agreement splits it) and
the budget per funding source, both revisable by later events, and it hands
out quota seats: an enrollment takes a seat on this stream in the same
transaction, which is how two clerks enrolling for the last seat cannot both win.
"""

import uuid
from datetime import date

import msgspec

from ledger.errors import InvalidInput, ProgramAlreadyOpen, QuotaFull
from ledger.events import (
    Event,
    FundingSource,
    ProgramBudgetRevised,
    ProgramOpened,
    ProgramQuotaRevised,
    SeatAllocated,
    SeatReleased,
)
from ledger.rules import DEFAULT_ENROLLMENT_AGE_CAP

PROGRAM_NAMESPACE = uuid.UUID("5b0f1a52-8d7e-4f0c-9d7e-4a1f2c3b6e01")
MAX_QUOTA = 100_000_000
"""More workers than any region has people is a typo; the bound also keeps a quota within
the projections' INTEGER columns, which a recorded event could otherwise never fit."""


def stream_id(program_id: str) -> uuid.UUID:
    return uuid.uuid5(PROGRAM_NAMESPACE, f"program/{program_id}")


class OpenProgram(msgspec.Struct, frozen=True, kw_only=True):
    program_id: str
    region_code: str
    region_name: str
    fiscal_year: int
    agreement_ref: str
    quota_total: int
    budget_idr: dict[FundingSource, int]
    coverage_start: date
    coverage_end: date
    cohort_quotas: dict[str, int] = {}
    enrollment_age_cap: int = DEFAULT_ENROLLMENT_AGE_CAP
    p3ke_cohorts: list[str] = []


class ReviseQuota(msgspec.Struct, frozen=True, kw_only=True):
    quota_total: int
    reason: str
    revision_ref: str
    cohort_quotas: dict[str, int] = {}


class ReviseBudget(msgspec.Struct, frozen=True, kw_only=True):
    budget_idr: dict[FundingSource, int]
    reason: str
    revision_ref: str


class Program(msgspec.Struct, frozen=True, kw_only=True):
    program_id: str
    region_code: str
    region_name: str
    fiscal_year: int
    agreement_ref: str
    quota_total: int
    cohort_quotas: dict[str, int]
    budget_idr: dict[str, int]
    coverage_start: date
    coverage_end: date
    enrollment_age_cap: int
    p3ke_cohorts: list[str]
    seats_taken: dict[str, int] = {}
    """Seats currently taken, per cohort."""

    @property
    def seats_taken_total(self) -> int:
        return sum(self.seats_taken.values())

    def accepts_cohort(self, cohort: str) -> bool:
        return not self.cohort_quotas or cohort in self.cohort_quotas


EVOLVE_REVISION = 1
"""Bump when ``evolve`` folds any event differently: program snapshots taken by the code
before are then ignored and taken again (``ledger.program_snapshots``)."""


def evolve(state: Program | None, event: Event) -> Program:
    match event:
        case ProgramOpened():
            fields = msgspec.structs.asdict(event)
            return Program(**fields)
        case ProgramQuotaRevised():
            return msgspec.structs.replace(
                state, quota_total=event.quota_total, cohort_quotas=event.cohort_quotas
            )
        case ProgramBudgetRevised():
            return msgspec.structs.replace(state, budget_idr=event.budget_idr)
        case SeatAllocated():
            return _count_seat(state, event.cohort, +1)
        case SeatReleased():
            return _count_seat(state, event.cohort, -1)
    raise ValueError(f"{event.TYPE} does not belong to a program stream")


def open_program(state: Program | None, command: OpenProgram) -> list[Event]:
    if state is not None:
        raise ProgramAlreadyOpen(
            f"program {command.program_id} is already open", field="program_id"
        )
    _check_identity(command)
    _check_quota(command.quota_total, command.cohort_quotas)
    _check_budget(command.budget_idr)
    if command.coverage_end < command.coverage_start:
        raise InvalidInput("coverage_end is before coverage_start", field="coverage_end")
    if not 15 <= command.enrollment_age_cap <= 100:
        raise InvalidInput("enrollment_age_cap must be 15..100", field="enrollment_age_cap")
    unknown = set(command.p3ke_cohorts) - set(command.cohort_quotas)
    if command.cohort_quotas and unknown:
        raise InvalidInput(f"p3ke_cohorts names unknown cohorts {sorted(unknown)}",
                           field="p3ke_cohorts")
    return [ProgramOpened(**msgspec.structs.asdict(command))]


def revise_quota(state: Program, command: ReviseQuota) -> list[Event]:
    _check_quota(command.quota_total, command.cohort_quotas)
    _check_revision(command.reason, command.revision_ref)
    return [ProgramQuotaRevised(**msgspec.structs.asdict(command))]


def revise_budget(state: Program, command: ReviseBudget) -> list[Event]:
    _check_budget(command.budget_idr)
    _check_revision(command.reason, command.revision_ref)
    return [ProgramBudgetRevised(**msgspec.structs.asdict(command))]


def allocate_seat(state: Program, participant_id: str, cohort: str) -> SeatAllocated:
    if state.seats_taken_total >= state.quota_total:
        raise QuotaFull(
            f"program {state.program_id} has used all {state.quota_total} seats of its quota"
        )
    cohort_quota = state.cohort_quotas.get(cohort)
    if cohort_quota is not None and state.seats_taken.get(cohort, 0) >= cohort_quota:
        raise QuotaFull(
            f"cohort {cohort} of program {state.program_id} has used all {cohort_quota} seats",
            field="cohort",
        )
    return SeatAllocated(participant_id=participant_id, cohort=cohort)


def _count_seat(state: Program, cohort: str, delta: int) -> Program:
    taken = {**state.seats_taken, cohort: state.seats_taken.get(cohort, 0) + delta}
    return msgspec.structs.replace(state, seats_taken=taken)


def _check_identity(command: OpenProgram) -> None:
    if not command.program_id.strip():
        raise InvalidInput("program_id must not be blank", field="program_id")
    if not (len(command.region_code) == 4 and command.region_code.isdigit()):
        raise InvalidInput(
            "region_code must be the 4-digit BPS code of a city or regency, e.g. 7174",
            field="region_code",
        )
    if not 2000 <= command.fiscal_year <= 2100:
        raise InvalidInput("fiscal_year must be a year such as 2024", field="fiscal_year")
    if not command.agreement_ref.strip():
        raise InvalidInput("agreement_ref (the PKS number) must not be blank",
                           field="agreement_ref")


def _check_quota(quota_total: int, cohort_quotas: dict[str, int]) -> None:
    if quota_total <= 0:
        raise InvalidInput("quota_total must be a positive number of workers",
                           field="quota_total")
    if quota_total > MAX_QUOTA:
        raise InvalidInput(f"quota_total is over {MAX_QUOTA:,} workers", field="quota_total")
    if any(q < 0 for q in cohort_quotas.values()):
        raise InvalidInput("a cohort quota is negative", field="cohort_quotas")
    if cohort_quotas and sum(cohort_quotas.values()) != quota_total:
        raise InvalidInput(
            f"cohort quotas add up to {sum(cohort_quotas.values())}, not quota_total "
            f"{quota_total}",
            field="cohort_quotas",
        )


def _check_budget(budget_idr: dict[str, int]) -> None:
    if not budget_idr:
        raise InvalidInput("budget_idr needs at least one funding source", field="budget_idr")
    if any(amount < 0 for amount in budget_idr.values()):
        raise InvalidInput("a budget amount is negative", field="budget_idr")


def _check_revision(reason: str, revision_ref: str) -> None:
    if not reason.strip():
        raise InvalidInput("a revision needs its reason", field="reason")
    if not revision_ref.strip():
        raise InvalidInput("a revision needs its reference (e.g. the APBD-P decree)",
                           field="revision_ref")
