"""The budget, findings and claims reports, as of a point of the log, for a terminal or a
spreadsheet.

A report is read from the live read models (caught up first), or as of a log
position, or as of the end of a month (what the ledger had recorded by then:
``projections.as_of``). It is laid out once, as titled sections of rows, and
rendered three ways:

    text   fixed-width tables for the terminal
    CSV    the sections one after another: a title row, a header row, the rows, a blank row
    XLSX   one sheet per section: finance teams live in spreadsheets

Money is whole Rupiah, written as numbers in CSV and XLSX (never "Rp1.512.000"
text), so that a spreadsheet can add it up.
"""

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, NamedTuple, TypeVar

import msgspec
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell as SheetCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ledger import periods
from ledger.errors import ClaimNotFound, InvalidInput, ProgramNotFound
from ledger.service import utc_now
from ledger.storage import Database, Tx
from ledger.system import System
from projections import claims_report as claims_model
from projections.as_of import (
    Scope,
    claim_scope,
    claims_scope,
    position_at_end_of,
    program_scope,
    replayed_scope,
)
from projections.budget import BudgetSummary, budget_summary
from projections.claims_report import BenefitStatusCount, ClaimLine, ClaimTimeline
from projections.findings import KINDS, Finding, findings

Cell = str | int | float | None
R = TypeVar("R")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_MAX_COLUMN_WIDTH = 60


class BudgetReport(msgspec.Struct, frozen=True, kw_only=True):
    program_id: str
    as_of: date
    """The business day the figures speak about (coverage due, committed months)."""
    position: int
    """The log position the figures stand at."""
    budget: BudgetSummary


class FindingsReport(msgspec.Struct, frozen=True, kw_only=True):
    program_id: str
    as_of: date
    position: int
    findings: list[Finding]


class ProgramClaimsReport(msgspec.Struct, frozen=True, kw_only=True):
    program_id: str
    as_of: date
    """The business day service levels are measured on (overdue, pending)."""
    position: int
    counts: list[BenefitStatusCount]
    """Claims and amounts by benefit and status."""
    median_days_to_payment: float | None
    """From the report to the last payout, over the claims paid in full."""
    breaches: list[ClaimLine]
    """Paid late or overdue, with the days late and the JKK penalty."""
    claims: list[ClaimLine]


class TimelineReport(msgspec.Struct, frozen=True, kw_only=True):
    program_id: str
    as_of: date
    position: int
    timeline: ClaimTimeline


class Section(NamedTuple):
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Cell, ...]]


def budget_report(system: System, program_id: str, as_of: str | None = None,
                  position: int | None = None) -> BudgetReport:
    """The budget as of the end of month ``as_of`` (YYYY-MM), or at log ``position``, or
    now when neither is given."""
    summary, day, at = _program_query(system, program_id, as_of, position, budget_summary,
                                      program_scope)
    return BudgetReport(program_id=program_id, as_of=day, position=at, budget=summary)


def findings_report(system: System, program_id: str, as_of: str | None = None,
                    position: int | None = None) -> FindingsReport:
    found, day, at = _program_query(system, program_id, as_of, position, findings,
                                    program_scope)
    return FindingsReport(program_id=program_id, as_of=day, position=at, findings=found)


def claims_report(system: System, program_id: str, as_of: str | None = None,
                  position: int | None = None) -> ProgramClaimsReport:
    found, _, at = _program_query(system, program_id, as_of, position,
                                  claims_model.claims_report, claims_scope)
    return ProgramClaimsReport(position=at, **msgspec.structs.asdict(found))


def _program_query(system: System, program_id: str, as_of: str | None, position: int | None,
                   query: Callable[[Tx, str, date], R | None],
                   scope: Callable[[System, str, int], Scope]) -> tuple[R, date, int]:
    """``query`` of one program on the read models as they stood (replaying the ``scope``
    it reads); a program the log did not hold at that point is not found."""
    with _read_models(system, as_of, position,
                      lambda at: scope(system, program_id, at)) as (db, day, at):
        with db.snapshot() as tx:
            found = query(tx, program_id, day)
    if found is None:
        raise _not_found(program_id, at)
    return found, day, at


def timeline_report(system: System, program_id: str, claim_id: str, as_of: str | None = None,
                    position: int | None = None) -> TimelineReport:
    """One claim's stages and service level, now or as they stood."""
    system.ledger.program(program_id)  # an unknown program is named as such, not as a claim
    with _read_models(system, as_of, position,
                      lambda _: claim_scope(system, program_id, claim_id)) as (db, day, at):
        with db.snapshot() as tx:
            found = claims_model.claim_timeline(tx, program_id, claim_id, day)
    if found is None:
        raise ClaimNotFound(f"no claim {claim_id!r} in program {program_id} in the log up to "
                            f"position {at:,}", field="claim_id")
    return TimelineReport(program_id=program_id, as_of=day, position=at, timeline=found)


@contextmanager
def _read_models(system: System, month: str | None, position: int | None,
                 scope: Callable[[int], Scope]) -> Iterator[tuple[Database, date, int]]:
    """The read models to report from, the business day and the log position they stand at:
    the live ones, or the ``scope`` of the question replayed to the position."""
    today = utc_now().date()
    if month is not None and position is not None:
        raise InvalidInput("give as_of (a month) or position, not both", field="position")
    if month is not None:
        month = periods.parse(month, "as_of")
        if month > periods.of(today):
            raise InvalidInput(f"as_of {month} is in the future", field="as_of")
        position = position_at_end_of(system.store, month)
        today = periods.last_day(month)
    if position is None:
        head = system.store.head()
        system.projections.catch_up(upto=head)
        yield system.storage.db, today, head
        return
    with replayed_scope(system, scope(position), position) as db:
        yield db, today, position


def _not_found(program_id: str, position: int) -> ProgramNotFound:
    return ProgramNotFound(f"no program {program_id!r} in the log up to position {position:,}",
                           field="program_id")


# Layout


def budget_title(report: BudgetReport) -> str:
    return (f"Budget of {report.program_id} ({report.budget.region_name}) as of "
            f"{report.as_of.isoformat()}, log position {report.position:,}")


def budget_sections(report: BudgetReport) -> list[Section]:
    b = report.budget
    summary = [("program", b.program_id), ("region", b.region_name),
               ("as_of", report.as_of.isoformat()), ("log_position", report.position)]
    summary += [(name, getattr(b, name)) for name in (
        "budget_idr", "billed_idr", "paid_idr", "refunded_idr", "billed_unpaid_idr",
        "committed_idr", "available_idr", "quota_total", "enrolled", "active_members",
        "run_rate_idr", "funded_through", "coverage_end", "warning")]
    funding = ("funding_source", "budget_idr", "billed_idr", "paid_idr", "refunded_idr",
               "billed_unpaid_idr", "committed_idr", "available_idr")
    months = ("period", "billed_idr", "paid_idr", "refunded_idr")
    cohorts = ("cohort", "quota", "enrolled")
    return [
        Section("Summary", ("item", "value"), summary),
        Section("By funding source", funding, _rows(b.funding, funding)),
        Section("By month", months, _rows(b.months, months)),
        Section("Quota by cohort", cohorts, _rows(b.cohorts, cohorts)),
    ]


def findings_title(report: FindingsReport) -> str:
    return (f"Findings of {report.program_id} as of {report.as_of.isoformat()}, log position "
            f"{report.position:,}: {len(report.findings):,}")


def findings_sections(report: FindingsReport) -> list[Section]:
    summary = [("program", report.program_id), ("as_of", report.as_of.isoformat()),
               ("log_position", report.position), ("findings", len(report.findings)),
               ("amount_idr", sum(f.amount_idr for f in report.findings))]
    by_kind = [(kind, len(found), sum(f.amount_idr for f in found))
               for kind in KINDS if (found := [f for f in report.findings if f.kind == kind])]
    return [
        Section("Summary", ("item", "value"), summary),
        Section("Findings by kind", ("kind", "findings", "amount_idr"), by_kind),
        Section("Findings", ("kind", "participant_id", "nik_masked", "bill_id", "periods",
                             "amount_idr", "detail"),
                [(f.kind, f.participant_id, f.nik_masked, f.bill_id, _runs(f.periods),
                  f.amount_idr, f.detail) for f in report.findings]),
    ]


CLAIM_COLUMNS = ("claim_id", "participant_id", "benefit", "status", "incident_date",
                 "reported_on", "due_on", "approved_idr", "paid_idr", "last_paid_on",
                 "days_to_payment", "sla_status", "days_late", "penalty_idr", "failed_rule",
                 "documents_missing")
BREACH_COLUMNS = ("claim_id", "benefit", "status", "sla_status", "due_on", "last_paid_on",
                  "days_late", "approved_idr", "paid_idr", "penalty_idr")


def claims_title(report: ProgramClaimsReport) -> str:
    return (f"Claims of {report.program_id} as of {report.as_of.isoformat()}, log position "
            f"{report.position:,}: {len(report.claims):,} claim(s), {len(report.breaches):,} "
            f"service-level breach(es)")


def claims_sections(report: ProgramClaimsReport) -> list[Section]:
    summary = [("program", report.program_id), ("as_of", report.as_of.isoformat()),
               ("log_position", report.position), ("claims", len(report.claims)),
               ("approved_idr", sum(c.approved_idr for c in report.claims)),
               ("paid_idr", sum(c.paid_idr for c in report.claims)),
               ("median_days_to_payment", report.median_days_to_payment),
               ("breaches", len(report.breaches)),
               ("penalty_idr", sum(c.penalty_idr for c in report.breaches))]
    counts = ("benefit", "status", "claims", "approved_idr", "paid_idr")
    return [
        Section("Summary", ("item", "value"), summary),
        Section("By benefit and status", counts, _rows(report.counts, counts)),
        Section("Breaches", BREACH_COLUMNS, _rows(report.breaches, BREACH_COLUMNS)),
        Section("Claims", CLAIM_COLUMNS, _rows(report.claims, CLAIM_COLUMNS)),
    ]


def timeline_title(report: TimelineReport) -> str:
    line = report.timeline.claim
    return (f"Claim {line.claim_id} ({line.benefit}, participant {line.participant_id}) of "
            f"{report.program_id} as of {report.as_of.isoformat()}, log position "
            f"{report.position:,}: {line.status}, service level {line.sla_status}")


def timeline_sections(report: TimelineReport) -> list[Section]:
    line = report.timeline.claim
    stages = ("stage", "business_date", "days_since_report", "recorded_at", "actor_id",
              "actor_role", "detail")
    return [
        Section("Claim", ("item", "value"),
                [(name, _cell(getattr(line, name))) for name in CLAIM_COLUMNS]),
        Section("Stages", stages, _rows(report.timeline.stages, stages)),
    ]


def _runs(months: Sequence[str]) -> str:
    """Months as runs: "2024-04..2024-12 2025-03" (a year unpaid is one cell, not twelve)."""
    runs: list[list[str]] = []
    for month in sorted(months):
        if runs and periods.shift(runs[-1][-1], 1) == month:
            runs[-1][1:] = [month]
        else:
            runs.append([month])
    return " ".join("..".join(run) for run in runs)


def _rows(items: Sequence[msgspec.Struct], columns: Sequence[str]) -> list[tuple[Cell, ...]]:
    return [tuple(_cell(getattr(item, column)) for column in columns) for item in items]


def _cell(value: Any) -> Cell:
    """Days as ISO text and lists as words, the same in every rendering."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return " ".join(map(str, value))
    return value


# Rendering


def text(title: str, sections: Sequence[Section]) -> str:
    parts = [title]
    for section in sections:
        parts += ["", section.title, _table(section)]
    return "\n".join(parts)


def _table(section: Section) -> str:
    """Columns padded to their widest cell; numbers right-aligned with thousands separators."""
    cells = [["" if c is None else f"{c:,}" if isinstance(c, int) else str(c) for c in row]
             for row in section.rows] or [["(none)", *[""] * (len(section.headers) - 1)]]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(section.headers)]
    numeric = [any(isinstance(row[i], int) for row in section.rows)
               and all(isinstance(row[i], int | None) for row in section.rows)
               for i in range(len(section.headers))]

    def line(values: Sequence[str]) -> str:
        return "  " + "  ".join(v.rjust(w) if n else v.ljust(w)
                                for v, w, n in zip(values, widths, numeric,
                                                   strict=True)).rstrip()

    return "\n".join(line(v) for v in (section.headers, ["-" * w for w in widths], *cells))


def csv_bytes(sections: Sequence[Section]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for section in sections:
        writer.writerow((section.title,))
        writer.writerow(section.headers)
        writer.writerows(section.rows)
        writer.writerow(())
    # With a BOM: without it, Excel reads UTF-8 (a region's or village's name) as ANSI.
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(sections: Sequence[Section]) -> bytes:
    """One sheet per section: a bold, frozen header row, then the rows; whole Rupiah are
    numbers with thousands separators."""
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for section in sections:
        sheet = workbook.create_sheet(section.title)
        sheet.freeze_panes = "A2"
        for index, width in enumerate(_widths(section), start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        header = []
        for name in section.headers:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in section.rows:
            sheet.append([_number(sheet, v) if isinstance(v, int) else v for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _number(sheet: Any, value: int) -> SheetCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = "#,##0"
    return cell


def _widths(section: Section) -> list[int]:
    return [min(_MAX_COLUMN_WIDTH, 2 + max([len(header)] + [
        len(f"{row[i]:,}" if isinstance(row[i], int) else str(row[i] or ""))
        for row in section.rows])) for i, header in enumerate(section.headers)]
