"""Budget consumption of a program: what was budgeted, billed, paid, committed and left.

Read from the read models only (``program_budget``, ``program_funding``,
``bill_summary``, ``program_months``, ``member_months`` and the quota tables):

    billed_unpaid = billed lines no payment settles yet
    committed     = active members x months of the coverage window not billed yet x tariff
    available     = budget - (paid - refunded) - billed_unpaid - committed

Commitments count against the program's main funding source (its largest
budget), the one a generated bill charges by default. The forecast divides what
is left after everything billed by the run rate (the mean of the last three
billed months) and warns when the money ends before the coverage window does.
"""

from datetime import date

import msgspec

from ledger import periods, tariffs
from ledger.storage import Tx

RUN_RATE_MONTHS = 3


class FundingLine(msgspec.Struct, frozen=True, kw_only=True):
    funding_source: str
    budget_idr: int
    billed_idr: int
    paid_idr: int
    refunded_idr: int
    billed_unpaid_idr: int
    committed_idr: int
    available_idr: int


class MonthLine(msgspec.Struct, frozen=True, kw_only=True):
    period: str
    billed_idr: int
    paid_idr: int
    refunded_idr: int


class CohortLine(msgspec.Struct, frozen=True, kw_only=True):
    cohort: str
    quota: int | None
    enrolled: int


class BudgetSummary(msgspec.Struct, frozen=True, kw_only=True):
    program_id: str
    region_name: str
    as_of: date
    budget_idr: int
    billed_idr: int
    paid_idr: int
    refunded_idr: int
    billed_unpaid_idr: int
    committed_idr: int
    available_idr: int
    funding: list[FundingLine]
    quota_total: int
    enrolled: int
    cohorts: list[CohortLine]
    months: list[MonthLine]
    active_members: int
    run_rate_idr: int
    funded_through: str | None
    """The last month the budget pays for at the run rate (None: nothing billed yet)."""
    coverage_end: str
    warning: str | None


def budget_summary(tx: Tx, program_id: str, as_of: date) -> BudgetSummary | None:
    program = tx.fetchone("SELECT program_id, region_name, quota_total, coverage_start, "
                          "coverage_end FROM program_summary WHERE program_id = :program_id",
                          {"program_id": program_id})
    if program is None:
        return None
    key = {"program_id": program_id}
    months = [MonthLine(**row) for row in tx.fetchall(
        "SELECT period, billed_idr, paid_idr, refunded_idr FROM program_months "
        "WHERE program_id = :program_id ORDER BY period", key)]
    active = tx.fetchone("SELECT COUNT(*) AS n FROM member_months "
                         "WHERE program_id = :program_id AND end_idx IS NULL", key)["n"]
    budget = {r["funding_source"]: r["amount_idr"] for r in tx.fetchall(
        "SELECT funding_source, amount_idr FROM program_budget WHERE program_id = :program_id",
        key)}
    main_source = max(budget.items(), key=lambda item: item[1])[0]
    window_end = periods.of(date.fromisoformat(program["coverage_end"]))
    billed_periods = [m.period for m in months if m.billed_idr]
    next_unbilled = max(periods.shift(billed_periods[-1], 1) if billed_periods else
                        periods.of(date.fromisoformat(program["coverage_start"])),
                        periods.of(as_of))
    committed = active * sum(tariffs.tariff_for(p, main_source).amount_idr
                             for p in periods.between(next_unbilled, window_end))
    funding = _funding(tx, key, budget, main_source, committed)
    cohorts = [CohortLine(**row) for row in tx.fetchall(
        "SELECT s.cohort AS cohort, q.quota AS quota, s.enrolled AS enrolled "
        "FROM program_cohort_status s LEFT JOIN program_cohort_quota q "
        "ON q.program_id = s.program_id AND q.cohort = s.cohort "
        "WHERE s.program_id = :program_id ORDER BY s.cohort", key)]
    totals = {field: sum(getattr(f, field) for f in funding)
              for field in ("budget_idr", "billed_idr", "paid_idr", "refunded_idr",
                            "billed_unpaid_idr", "committed_idr", "available_idr")}
    run_rate = _run_rate(months)
    funded_through, warning = _forecast(totals, billed_periods, run_rate, window_end)
    return BudgetSummary(
        program_id=program_id, region_name=program["region_name"], as_of=as_of, **totals,
        funding=funding, quota_total=program["quota_total"],
        enrolled=sum(c.enrolled for c in cohorts), cohorts=cohorts, months=months,
        active_members=active, run_rate_idr=run_rate, funded_through=funded_through,
        coverage_end=window_end, warning=warning)


def _funding(tx: Tx, key: dict, budget: dict[str, int], main_source: str,
             committed: int) -> list[FundingLine]:
    flows = {r["funding_source"]: r for r in tx.fetchall(
        "SELECT funding_source, billed_idr, paid_idr, refunded_idr FROM program_funding "
        "WHERE program_id = :program_id", key)}
    unpaid = {r["funding_source"]: int(r["unpaid"]) for r in tx.fetchall(
        "SELECT funding_source, SUM(billed_idr - paid_idr) AS unpaid FROM bill_summary "
        "WHERE program_id = :program_id GROUP BY funding_source", key)}
    lines = []
    for source in sorted(set(budget) | set(flows)):
        flow = flows.get(source, {"billed_idr": 0, "paid_idr": 0, "refunded_idr": 0})
        source_committed = committed if source == main_source else 0
        net_paid = flow["paid_idr"] - flow["refunded_idr"]
        lines.append(FundingLine(
            funding_source=source, budget_idr=budget.get(source, 0),
            billed_idr=flow["billed_idr"], paid_idr=flow["paid_idr"],
            refunded_idr=flow["refunded_idr"], billed_unpaid_idr=unpaid.get(source, 0),
            committed_idr=source_committed,
            available_idr=budget.get(source, 0) - net_paid - unpaid.get(source, 0)
            - source_committed))
    return lines


def _run_rate(months: list[MonthLine]) -> int:
    billed = [m.billed_idr for m in months if m.billed_idr][-RUN_RATE_MONTHS:]
    return sum(billed) // len(billed) if billed else 0


def _forecast(totals: dict[str, int], billed_periods: list[str], run_rate: int,
              window_end: str) -> tuple[str | None, str | None]:
    if not billed_periods or run_rate <= 0:
        return None, None
    left = totals["budget_idr"] - totals["billed_idr"] + totals["refunded_idr"]
    funded_through = periods.shift(billed_periods[-1], left // run_rate)
    if left < 0:
        return funded_through, (f"billed Rp{-left:,} more than the budget")
    if funded_through >= window_end:
        return window_end, None  # enough for the whole window; later months are not asked
    return funded_through, (f"at Rp{run_rate:,} a month the budget pays up to "
                            f"{funded_through}, before the coverage window ends in "
                            f"{window_end}")
