"""Contributions: bills generated or imported, payments, reversals, refunds and lapses, and a
participant's coverage month by month.

A command answers with the bill as the read models show it right after (caught
up first), so the figures are the ones every report reads. A payment recorded
again with the same figures (a retried request) appends nothing and answers the
same; the same reference with other figures is refused.
"""

import shutil
import uuid
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, MultipartBody, QueryParameter

from api.dependencies import participant_uuid
from api.problems import COMMAND_PROBLEMS, READ_PROBLEMS, problem_responses
from api.routes.imports import MAX_UPLOAD_BODY_BYTES
from ledger import coverage, periods
from ledger.bill import (
    Bill,
    GenerateBill,
    ImportBill,
    ImportedLine,
    RecordPayment,
    RecordRefund,
    ReversePayment,
)
from ledger.bill_files import read_bill
from ledger.errors import (
    BillNotFound,
    ImportRejected,
    InvalidInput,
    NotEnrolled,
    ParticipantNotFound,
)
from ledger.events import BillSource, FundingSource
from ledger.service import Actor, utc_now
from ledger.system import System
from projections import views

_COPY_CHUNK_BYTES = 1024 * 1024


class BillView(msgspec.Struct, kw_only=True):
    bill_id: str
    source: BillSource
    document_ref: str
    issued_on: date
    funding_source: FundingSource
    first_period: str
    months: int
    lines: int
    flagged_lines: int
    """Lines of an imported bill that are not what the ledger expected."""
    stated_total_idr: int
    billed_idr: int
    not_tariff_idr: int
    paid_idr: int
    refunded_idr: int
    outstanding_idr: int
    """Billed and not settled by any standing payment."""


class BillLineView(msgspec.Struct, kw_only=True):
    line_no: int
    participant_id: uuid.UUID | None
    nik: str
    """Masked: the first 6 and last 4 digits (blank when the bill named a KPJ only)."""
    first_period: str
    months: int
    amount_idr: int
    rule_version: str | None
    flags: list[str]
    payment_ref: str | None
    paid_on: date | None
    months_refunded: int


class BillDetail(BillView, kw_only=True):
    page: list[BillLineView]
    """The lines from ``offset``, in line order."""
    next_offset: int | None
    """Pass as ``offset`` for the next page; null on the last page."""


class BillUpload(msgspec.Struct, kw_only=True):
    file: UploadFile
    """CSV as BPJS TK sends it: kpj, nik, period, amount_idr (kpj or nik may be blank)."""
    bill_id: str
    """The invoice number."""
    document_ref: str
    """The letter or file the bill came with."""
    funding_source: FundingSource | None = None
    stated_total_idr: int | None = None
    """The invoice's own total; by default the sum of its lines."""


class FlaggedLine(msgspec.Struct, kw_only=True):
    line: int
    """The bill's line number (what a payment settles)."""
    row: int
    """The file's row (the header is row 1)."""
    flags: list[str]


class ImportedBill(msgspec.Struct, kw_only=True):
    bill: BillView
    flagged: list[FlaggedLine]


class RecordLapses(msgspec.Struct, kw_only=True):
    as_of: date
    """Lapse everyone whose unpaid months had ended their membership by this day."""


class LapsedParticipant(msgspec.Struct, kw_only=True):
    participant_id: uuid.UUID
    lapsed_from: str | None


class LapseRefused(msgspec.Struct, kw_only=True):
    participant_id: uuid.UUID
    code: str
    detail: str


class LapsesResult(msgspec.Struct, kw_only=True):
    as_of: date
    lapsed: list[LapsedParticipant]
    refused: list[LapseRefused]


class MonthView(msgspec.Struct, kw_only=True):
    period: str
    status: coverage.MonthStatus
    paid_on: date | None
    covered: bool


class CoverageView(msgspec.Struct, kw_only=True):
    participant_id: uuid.UUID
    as_of: date
    first_period: str
    last_period: str
    """The program's last month, or the month of death or termination."""
    rule_version: str
    lapsed_from: str | None
    lapsed_on: date | None
    months: list[MonthView]
    refunds_due: list[str]
    """Months paid that bought no cover."""


class BillController(Controller):
    path = "/programs/{program_id:str}/bills"
    tags = ["bills"]

    @post("/", sync_to_thread=True, responses=COMMAND_PROBLEMS,
          summary="Generate the bill of the enrolled participants for one month or in advance")
    def generate(self, program_id: FromPath[str], data: JSONBody[GenerateBill],
                 system: NamedDependency[System], actor: NamedDependency[Actor],
                 command_id: NamedDependency[str | None]) -> BillView:
        _check_addressable(data.bill_id)
        issued = system.contributions.generate_bill(program_id, data, actor, command_id)
        return bill_view(system, program_id, issued.issued.bill_id)

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS, summary="Every bill of a program")
    def list_bills(self, program_id: FromPath[str],
                   system: NamedDependency[System]) -> list[BillView]:
        system.ledger.check_program(program_id)  # an unknown program is a 404, not an empty list
        system.projections.catch_up()
        return [_view(row) for row in views.bills(system.storage.db, program_id)]

    @get("/{bill_id:str}", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="One bill with a page of its lines")
    def get_bill(self, program_id: FromPath[str], bill_id: FromPath[str],
                 system: NamedDependency[System],
                 limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
                 offset: Annotated[int, QueryParameter(ge=0)] = 0) -> BillDetail:
        view = bill_view(system, program_id, bill_id)
        rows = views.bill_lines(system.storage.db, program_id, bill_id, limit=limit,
                                offset=offset)
        next_offset = offset + limit if offset + limit < view.lines else None
        return BillDetail(**msgspec.structs.asdict(view), page=[_line(r) for r in rows],
                          next_offset=next_offset)

    @post("/import", sync_to_thread=True, responses=COMMAND_PROBLEMS,
          request_max_body_size=MAX_UPLOAD_BODY_BYTES,
          summary="Import a bill file as BPJS TK sends it; flags the lines not expected")
    def import_bill(self, program_id: FromPath[str], data: MultipartBody[BillUpload],
                    system: NamedDependency[System], actor: NamedDependency[Actor],
                    command_id: NamedDependency[str | None]) -> ImportedBill:
        system.ledger.check_program(program_id)
        _check_addressable(data.bill_id)
        rows = _read_upload(data.file)
        command = ImportBill(bill_id=data.bill_id, document_ref=data.document_ref,
                             funding_source=data.funding_source,
                             stated_total_idr=data.stated_total_idr)
        issued = system.contributions.import_bill(program_id, command, rows, actor, command_id)
        return ImportedBill(bill=bill_view(system, program_id, data.bill_id),
                            flagged=_flagged(issued, [row.line_no for row in rows]))

    @post("/{bill_id:str}/payments", sync_to_thread=True, responses=COMMAND_PROBLEMS,
          summary="Record a payment (SP2D); it settles the first unpaid lines in order")
    def pay(self, program_id: FromPath[str], bill_id: FromPath[str],
            data: JSONBody[RecordPayment], system: NamedDependency[System],
            actor: NamedDependency[Actor], command_id: NamedDependency[str | None]) -> BillView:
        system.contributions.record_payment(program_id, bill_id, data, actor, command_id)
        return bill_view(system, program_id, bill_id)

    # The payment is named in the body, not the path: an SP2D number such as
    # 00123/SP2D/LS/2024 has slashes, which no path segment can carry.
    @post("/{bill_id:str}/reversals", sync_to_thread=True, responses=COMMAND_PROBLEMS,
          summary="Reverse a payment (bounced, recorded in error); its lines are unpaid again")
    def reverse(self, program_id: FromPath[str], bill_id: FromPath[str],
                data: JSONBody[ReversePayment], system: NamedDependency[System],
                actor: NamedDependency[Actor],
                command_id: NamedDependency[str | None]) -> BillView:
        system.contributions.reverse_payment(program_id, bill_id, data, actor, command_id)
        return bill_view(system, program_id, bill_id)

    @post("/{bill_id:str}/refunds", sync_to_thread=True, responses=COMMAND_PROBLEMS,
          summary="Record a refund of paid months that bought no cover (after a death, say)")
    def refund(self, program_id: FromPath[str], bill_id: FromPath[str],
               data: JSONBody[RecordRefund], system: NamedDependency[System],
               actor: NamedDependency[Actor],
               command_id: NamedDependency[str | None]) -> BillView:
        system.contributions.record_refund(program_id, bill_id, data, actor, command_id)
        return bill_view(system, program_id, bill_id)


class MembershipController(Controller):
    path = "/programs/{program_id:str}"
    tags = ["coverage"]

    @post("/lapses", sync_to_thread=True, responses=COMMAND_PROBLEMS, status_code=200,
          summary="Record the lapse of every member whose unpaid months ended membership")
    def record_lapses(self, program_id: FromPath[str], data: JSONBody[RecordLapses],
                      system: NamedDependency[System], actor: NamedDependency[Actor],
                      command_id: NamedDependency[str | None]) -> LapsesResult:
        if data.as_of > utc_now().date():
            raise InvalidInput("as_of is in the future: a lapse is recorded once it happened",
                               field="as_of")
        results = system.contributions.record_lapses(program_id, data.as_of, actor, command_id)
        system.projections.catch_up()
        lapsed_from = views.lapsed_from(system.storage.db, program_id)
        return LapsesResult(
            as_of=data.as_of,
            lapsed=[LapsedParticipant(participant_id=r.participant_id,
                                      lapsed_from=lapsed_from.get(str(r.participant_id)))
                    for r in results if r.error is None],
            refused=[LapseRefused(participant_id=r.participant_id, code=r.error.code,
                                  detail=r.error.detail) for r in results if r.error])

    @get("/participants/{participant_id:str}/coverage", sync_to_thread=True,
         responses=problem_responses(400, 401, 403, 404, 409),
         summary="Which months a participant is covered, in arrears, lapsed, as of a day")
    def get_coverage(self, program_id: FromPath[str], participant_id: FromPath[str],
                     system: NamedDependency[System],
                     as_of: Annotated[date | None, QueryParameter(
                         description="YYYY-MM-DD; today by default")] = None) -> CoverageView:
        pid = participant_uuid(participant_id)
        program = system.ledger.program(program_id)
        system.projections.catch_up()
        row = views.participant(system.storage.db, program_id, str(pid))
        if row is None:
            raise ParticipantNotFound("no such participant in this program",
                                      field="participant_id")
        if row["coverage_start"] is None:
            raise NotEnrolled(f"the participant is {row['status']} and was never enrolled, so "
                              "no month is covered", field="participant_id")
        first = periods.of(date.fromisoformat(row["coverage_start"]))
        end = periods.of(program.coverage_end)
        last = min(end, periods.of(date.fromisoformat(row["terminated_on"]))) \
            if row["terminated_on"] else end
        day = as_of or utc_now().date()
        rules = coverage.rules_in_force(first)
        found = coverage.coverage(coverage.Membership(first, last),
                                  views.paid_months_of(system.storage.db, str(pid)),
                                  day, rules, beyond=end)
        return CoverageView(
            participant_id=pid, as_of=day, first_period=first, last_period=last,
            rule_version=rules.version, lapsed_from=found.lapsed_from,
            lapsed_on=found.lapsed_on,
            months=[MonthView(period=m.period, status=m.status, paid_on=m.paid_on,
                              covered=m.covered) for m in found.months],
            refunds_due=[m.period for m in found.refunds_due])


def bill_view(system: System, program_id: str, bill_id: str) -> BillView:
    """The bill from the read models, caught up first so a read right after a write sees it."""
    system.ledger.check_program(program_id)
    system.projections.catch_up()
    row = views.bill(system.storage.db, program_id, bill_id)
    if row is None:
        raise BillNotFound(f"no bill {bill_id!r} in program {program_id}", field="bill_id")
    return _view(row)


def _check_addressable(bill_id: str | None) -> None:
    """A bill id is a segment of the bill's URLs: one with a slash could be recorded but
    never paid over HTTP (``%2F`` is decoded before routing)."""
    if bill_id is not None and "/" in bill_id:
        raise InvalidInput("bill_id must not contain '/' (write INV/7174/2024/03 as "
                           "INV-7174-2024-03)", field="bill_id")


def _view(row: dict[str, Any]) -> BillView:
    return msgspec.convert({**row, "outstanding_idr": row["billed_idr"] - row["paid_idr"]},
                           BillView)


def _line(row: dict[str, Any]) -> BillLineView:
    return msgspec.convert({**row, "nik": row["nik_masked"],
                            "flags": row["flags"].split()}, BillLineView)


def _read_upload(upload: UploadFile) -> list[ImportedLine]:
    """The bill file's lines; a refusal of the whole file names the form field ``file`` (its
    detail names the row and the column)."""
    with TemporaryDirectory(prefix="ledger-upload-") as tmp:
        path = Path(tmp) / "bill.csv"
        upload.file.seek(0)
        with path.open("wb") as copy:
            shutil.copyfileobj(upload.file, copy, _COPY_CHUNK_BYTES)
        try:
            return read_bill(path)
        except ImportRejected as error:
            error.field = "file"
            raise


def _flagged(issued: Bill, rows: list[int]) -> list[FlaggedLine]:
    return [FlaggedLine(line=number, row=rows[number - 1], flags=line.flags)
            for number, line in enumerate(issued.issued.lines, start=1) if line.flags]
