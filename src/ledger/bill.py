"""Bill (tagihan): the contributions BPJS TK asks a program to pay for some months.

A bill is generated from the program's enrolled participants at the tariff in
force, or imported as BPJS TK sends it (NIK/KPJ, period, amount); an imported
line that is not what the ledger expects carries flags saying why. Payments
settle whole lines in line order; a reversal gives its lines back; a refund
returns months that bought no cover (after a death, say) and names them. Every
change is a new event on the bill's stream, and nothing is ever edited.
"""

import functools
import uuid
from collections.abc import Callable, Iterable
from datetime import date
from typing import NamedTuple

import msgspec

from ledger import periods, tariffs
from ledger.errors import (
    BillAlreadyIssued,
    BillNotFound,
    InvalidInput,
    OutsideCoverageWindow,
    PaymentAlreadyReversed,
    PaymentExceedsBill,
    PaymentNotFound,
    ReferenceAlreadyUsed,
    RefundNotDue,
)
from ledger.events import (
    BillIssued,
    BillLine,
    Event,
    FundingSource,
    LineSpan,
    PaymentRecorded,
    PaymentReversed,
    RefundLine,
    RefundRecorded,
)
from ledger.periods import Period
from ledger.program import Program

BILL_NAMESPACE = uuid.UUID("a3d4c0de-6b1f-4e8e-9a57-1f0b2c7d9e31")
ADVANCE_MONTHS = (1, 3, 6, 12)
LINE_FLAGS = {
    "unknown_participant": "no participant of the program has this NIK or KPJ",
    "not_matched": "the participant is not matched (tidak padan) or not verified yet",
    "not_enrolled": "the participant is matched but not enrolled",
    "before_enrollment": "the month is before the participant's coverage start",
    "died": "the month is after the month the participant died",
    "terminated": "the month is after the participant's termination",
    "lapsed": "the month is after the participant's membership lapsed",
    "amount_not_tariff": "the amount is not the tariff in force for that month and "
                         "funding source",
}
"""Why an imported bill line is not what the ledger expected (docs/events.md lists them)."""


def stream_id(program_id: str, bill_id: str) -> uuid.UUID:
    return uuid.uuid5(BILL_NAMESPACE, f"bill/{program_id}/{bill_id}")


class RosterEntry(NamedTuple):
    """A participant of the program as the read model knows them, for billing."""

    participant_id: str
    nik_hash: str
    """The keyed hash of the NIK (``Keyring.nik_hash``): an imported line is matched by it,
    so billing never opens a member's NIK."""
    kpj: str | None
    status: str
    occupation: str
    coverage_start: date | None
    terminated_on: date | None
    termination_reason: str | None
    lapsed_from: Period | None


class GenerateBill(msgspec.Struct, frozen=True, kw_only=True):
    period: str
    months: int = 1
    """1, or 3, 6 or 12 for an advance bill."""
    funding_source: FundingSource | None = None
    """Who pays; by default the program's largest budget source."""
    bill_id: str | None = None


class ImportedLine(msgspec.Struct, frozen=True, kw_only=True):
    line_no: int
    nik: str
    kpj: str | None
    period: str
    amount_idr: int


class ImportBill(msgspec.Struct, frozen=True, kw_only=True):
    bill_id: str
    document_ref: str
    funding_source: FundingSource | None = None
    stated_total_idr: int | None = None
    """The invoice's own total; by default the sum of its lines."""


class RecordPayment(msgspec.Struct, frozen=True, kw_only=True):
    payment_ref: str
    paid_on: date
    amount_idr: int
    funding_source: FundingSource | None = None
    """By default the bill's funding source."""


class ReversePayment(msgspec.Struct, frozen=True, kw_only=True):
    payment_ref: str
    reversed_on: date
    reason: str


class RefundMonth(msgspec.Struct, frozen=True, kw_only=True):
    participant_id: str
    period: str


class RecordRefund(msgspec.Struct, frozen=True, kw_only=True):
    refund_ref: str
    payment_ref: str
    refunded_on: date
    reason: str
    months: list[RefundMonth]


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    event: PaymentRecorded
    reversed: bool = False


class Bill(msgspec.Struct, frozen=True, kw_only=True):
    issued: BillIssued
    payments: dict[str, Payment]
    settled_by: list[str | None]
    """Per line (index 0 is line 1): the payment that settles it now, if any."""
    refunds: dict[str, RefundRecorded]
    refunded: frozenset[tuple[int, str]]
    """(line, period) already refunded."""

    @property
    def billed_idr(self) -> int:
        return sum(line.amount_idr for line in self.issued.lines)

    @property
    def outstanding_idr(self) -> int:
        return sum(line.amount_idr for line, ref in zip(self.issued.lines, self.settled_by,
                                                       strict=True) if ref is None)


def default_bill_id(command: GenerateBill) -> str:
    """A generated bill is named by its months unless the clerk names it: generating the
    same month twice then meets the first bill instead of billing everyone again."""
    if command.bill_id:
        return command.bill_id
    period = command.period.strip()  # what periods.parse makes of it, when well formed
    return period if command.months == 1 else f"{period}+{command.months}"


def evolve(state: Bill | None, event: Event) -> Bill:
    match event:
        case BillIssued():
            return Bill(issued=event, payments={}, settled_by=[None] * len(event.lines),
                        refunds={}, refunded=frozenset())
        case PaymentRecorded():
            settled = list(state.settled_by)
            for index in _line_indexes(event.settled):
                settled[index] = event.payment_ref
            return msgspec.structs.replace(
                state, payments={**state.payments, event.payment_ref: Payment(event=event)},
                settled_by=settled)
        case PaymentReversed():
            payment = state.payments[event.payment_ref]
            settled = list(state.settled_by)
            for index in _line_indexes(payment.event.settled):
                settled[index] = None
            reversed_payment = msgspec.structs.replace(payment, reversed=True)
            return msgspec.structs.replace(
                state, payments={**state.payments, event.payment_ref: reversed_payment},
                settled_by=settled)
        case RefundRecorded():
            done = {(line.line, line.period) for line in event.lines}
            return msgspec.structs.replace(state, refunds={**state.refunds,
                                                           event.refund_ref: event},
                                           refunded=state.refunded | done)
    raise ValueError(f"{event.TYPE} does not belong to a bill stream")


def generate(state: Bill | None, program: Program, roster: Iterable[RosterEntry],
             command: GenerateBill, today: date) -> list[Event]:
    """The bill of the program's enrolled participants for the months asked, one line
    per participant and run of months at one tariff."""
    first, months = _checked_span(program, command.period, command.months)
    bill_id = default_bill_id(command)
    _refuse_when_issued(state, bill_id)
    source = command.funding_source or _main_source(program)
    last = periods.shift(first, months - 1)
    billed_months = periods.between(first, last)
    tariff_of = _tariffs(source)
    lines = []
    for entry in roster:
        lines += _generated_lines(entry, billed_months, tariff_of)
    if not lines:
        raise InvalidInput(f"program {program.program_id} has no participant enrolled "
                           f"for {first}..{last}; there is nothing to bill", field="period")
    return [BillIssued(bill_id=bill_id, program_id=program.program_id, source="generated",
                       document_ref=f"generated {today.isoformat()}", issued_on=today,
                       funding_source=source, first_period=first, months=months,
                       stated_total_idr=sum(line.amount_idr for line in lines), lines=lines)]


def import_bill(state: Bill | None, program: Program, roster: Iterable[RosterEntry],
                command: ImportBill, rows: list[ImportedLine],
                nik_hash: Callable[[str], str], today: date) -> list[Event]:
    """A bill file as BPJS TK sends it, with every line the ledger did not expect flagged.
    A line is matched to a member by ``nik_hash`` of its NIK (the roster's key), else by
    its KPJ."""
    if not command.bill_id.strip():
        raise InvalidInput("bill_id (the invoice number) must not be blank", field="bill_id")
    if not command.document_ref.strip():
        raise InvalidInput("document_ref (the file or letter) must not be blank",
                           field="document_ref")
    _refuse_when_issued(state, command.bill_id)
    if not rows:
        raise InvalidInput("the bill file has no lines", field="lines")
    _refuse_duplicate_lines(rows)
    source = command.funding_source or _main_source(program)
    by_nik_hash, by_kpj = {}, {}
    for entry in roster:
        by_nik_hash[entry.nik_hash] = entry
        if entry.kpj:
            by_kpj[entry.kpj] = entry
    lines = []
    for row in rows:
        if row.amount_idr <= 0:
            raise InvalidInput(f"line {row.line_no}: amount_idr must be a positive number of "
                               f"Rupiah", field="amount_idr")
        period, _ = _checked_span(program, periods.parse(row.period,
                                                         f"line {row.line_no} period"), 1)
        entry = (by_nik_hash.get(nik_hash(row.nik)) if row.nik else None) \
            or (by_kpj.get(row.kpj) if row.kpj else None)
        tariff = tariffs.tariff_for(period, source,
                                    occupation=entry.occupation if entry else "")
        flags = _flags(entry, period)
        if row.amount_idr != tariff.amount_idr:
            flags.append("amount_not_tariff")
        lines.append(BillLine(participant_id=entry.participant_id if entry else None,
                              nik=row.nik,
                              kpj=row.kpj or (entry.kpj if entry else None),
                              first_period=period, months=1, amount_idr=row.amount_idr,
                              rule_version=tariff.rule_version, flags=flags))
    periods_on_bill = sorted(line.first_period for line in lines)
    total = sum(line.amount_idr for line in lines)
    stated = total if command.stated_total_idr is None else command.stated_total_idr
    if stated < 0:
        raise InvalidInput("stated_total_idr must not be negative", field="stated_total_idr")
    return [BillIssued(bill_id=command.bill_id, program_id=program.program_id,
                       source="imported", document_ref=command.document_ref, issued_on=today,
                       funding_source=source, first_period=periods_on_bill[0],
                       months=periods.months_from(periods_on_bill[0], periods_on_bill[-1]) + 1,
                       stated_total_idr=stated, lines=lines)]


def pay(state: Bill | None, command: RecordPayment, today: date) -> list[Event]:
    """Settle the first unpaid lines, in line order, with exactly the amount paid. The same
    payment recorded again (a retried request) appends nothing."""
    state = _existing(state)
    _check_reference(command.payment_ref, "payment_ref")
    source = command.funding_source or state.issued.funding_source
    earlier = state.payments.get(command.payment_ref)
    if earlier is not None:
        same = (earlier.event.paid_on, earlier.event.amount_idr, earlier.event.funding_source)
        if same == (command.paid_on, command.amount_idr, source):
            return []
        raise ReferenceAlreadyUsed(f"payment {command.payment_ref} is already recorded on this "
                                   f"bill with other figures", field="payment_ref")
    if command.amount_idr <= 0:
        raise InvalidInput("amount_idr must be a positive number of Rupiah", field="amount_idr")
    if command.paid_on > today:
        raise InvalidInput("paid_on is in the future", field="paid_on")
    outstanding = state.outstanding_idr
    if command.amount_idr > outstanding:
        raise PaymentExceedsBill(f"Rp{command.amount_idr:,} is more than the Rp{outstanding:,} "
                                 f"this bill has left unpaid", field="amount_idr")
    return [PaymentRecorded(payment_ref=command.payment_ref, paid_on=command.paid_on,
                            amount_idr=command.amount_idr, funding_source=source,
                            settled=_settle_in_order(state, command.amount_idr))]


def reverse(state: Bill | None, command: ReversePayment) -> list[Event]:
    state = _existing(state)
    payment = state.payments.get(command.payment_ref)
    if payment is None:
        raise PaymentNotFound(f"no payment {command.payment_ref} on this bill",
                              field="payment_ref")
    if payment.reversed:
        raise PaymentAlreadyReversed(f"payment {command.payment_ref} is already reversed",
                                     field="payment_ref")
    if not command.reason.strip():
        raise InvalidInput("a reversal needs its reason", field="reason")
    if command.reversed_on < payment.event.paid_on:
        raise InvalidInput("reversed_on is before the payment's paid_on", field="reversed_on")
    if any(r.payment_ref == command.payment_ref for r in state.refunds.values()):
        raise InvalidInput("part of this payment was refunded already; reverse nothing "
                           "that has been refunded", field="payment_ref")
    return [PaymentReversed(payment_ref=command.payment_ref, reversed_on=command.reversed_on,
                            reason=command.reason)]


def refund(state: Bill | None, command: RecordRefund) -> list[Event]:
    state = _existing(state)
    _check_reference(command.refund_ref, "refund_ref")
    if command.refund_ref in state.refunds:
        raise ReferenceAlreadyUsed(f"refund {command.refund_ref} is already recorded",
                                   field="refund_ref")
    payment = state.payments.get(command.payment_ref)
    if payment is None or payment.reversed:
        raise PaymentNotFound(f"no standing payment {command.payment_ref} on this bill",
                              field="payment_ref")
    if not command.reason.strip():
        raise InvalidInput("a refund needs its reason", field="reason")
    if command.refunded_on < payment.event.paid_on:
        raise InvalidInput("refunded_on is before the payment's paid_on", field="refunded_on")
    if not command.months:
        raise InvalidInput("name the participant months refunded", field="months")
    lines = [_refund_line(state, command.payment_ref, month) for month in command.months]
    if len({(line.line, line.period) for line in lines}) != len(lines):
        raise InvalidInput("a participant month is named twice", field="months")
    return [RefundRecorded(refund_ref=command.refund_ref, payment_ref=command.payment_ref,
                           refunded_on=command.refunded_on,
                           amount_idr=sum(line.amount_idr for line in lines),
                           reason=command.reason, lines=lines)]


_month_of = functools.lru_cache(maxsize=4096)(periods.of)
"""``periods.of``, remembered: a roster's 35,000 coverage starts are a handful of days."""


def _tariffs(source: str) -> Callable[[Period, str], tariffs.Tariff]:
    """``tariffs.tariff_for`` remembered per month and occupation: a bill asks the same
    few questions once per member."""
    known: dict[tuple[Period, str], tariffs.Tariff] = {}

    def tariff_of(period: Period, occupation: str) -> tariffs.Tariff:
        tariff = known.get((period, occupation))
        if tariff is None:
            tariff = known[period, occupation] = tariffs.tariff_for(
                period, source, occupation=occupation)
        return tariff

    return tariff_of


def _generated_lines(entry: RosterEntry, months: list[Period],
                     tariff_of: Callable[[Period, str], tariffs.Tariff]) -> list[BillLine]:
    """The member's lines for ``months`` (the bill's, in order): from coverage start to
    the month of termination or the month before a lapse."""
    if entry.coverage_start is None or entry.status not in ("enrolled", "terminated",
                                                             "lapsed"):
        return []
    start, end = _month_of(entry.coverage_start), months[-1]
    if entry.terminated_on is not None:
        end = min(end, _month_of(entry.terminated_on))
    if entry.lapsed_from is not None:
        end = min(end, periods.shift(entry.lapsed_from, -1))
    lines: list[BillLine] = []
    for period in months:
        if period < start:
            continue
        if period > end:
            break
        tariff = tariff_of(period, entry.occupation)
        previous = lines[-1] if lines else None
        if previous and previous.rule_version == tariff.rule_version \
                and previous.amount_idr == tariff.amount_idr * previous.months:
            lines[-1] = msgspec.structs.replace(previous, months=previous.months + 1,
                                                amount_idr=previous.amount_idr
                                                + tariff.amount_idr)
            continue
        lines.append(BillLine(participant_id=entry.participant_id, nik="", kpj=entry.kpj,
                              first_period=period, months=1, amount_idr=tariff.amount_idr,
                              rule_version=tariff.rule_version))
    return lines


def _flags(entry: RosterEntry | None, period: Period) -> list[str]:
    if entry is None:
        return ["unknown_participant"]
    if entry.status in ("awaiting_verification", "mismatched"):
        return ["not_matched"]
    if entry.coverage_start is None:
        return ["not_enrolled"]
    if period < periods.of(entry.coverage_start):
        return ["before_enrollment"]
    if entry.terminated_on is not None and period > periods.of(entry.terminated_on):
        return ["died" if entry.termination_reason == "died" else "terminated"]
    if entry.lapsed_from is not None and period >= entry.lapsed_from:
        return ["lapsed"]
    return []


def _settle_in_order(state: Bill, amount_idr: int) -> list[LineSpan]:
    spans: list[LineSpan] = []
    left = amount_idr
    for number, (line, ref) in enumerate(zip(state.issued.lines, state.settled_by,
                                             strict=True), start=1):
        if left == 0:
            break
        if ref is not None:
            continue
        if line.amount_idr > left:
            settled = amount_idr - left
            raise InvalidInput(
                f"a payment settles whole lines in order: Rp{amount_idr:,} settles "
                f"Rp{settled:,} and leaves Rp{left:,}, less than line {number}'s "
                f"Rp{line.amount_idr:,}; pay Rp{settled:,} or Rp{settled + line.amount_idr:,}",
                field="amount_idr")
        left -= line.amount_idr
        if spans and spans[-1].last == number - 1:
            spans[-1] = LineSpan(spans[-1].first, number)
        else:
            spans.append(LineSpan(number, number))
    return spans


def _refund_line(state: Bill, payment_ref: str, month: RefundMonth) -> RefundLine:
    period = periods.parse(month.period, "months.period")
    for number, line in enumerate(state.issued.lines, start=1):
        if line.participant_id != month.participant_id:
            continue
        if not line.first_period <= period <= periods.shift(line.first_period,
                                                             line.months - 1):
            continue
        if state.settled_by[number - 1] != payment_ref:
            raise RefundNotDue(f"{period} of participant {month.participant_id} was not paid "
                               f"by {payment_ref}", field="months")
        if (number, period) in state.refunded:
            raise RefundNotDue(f"{period} of participant {month.participant_id} was refunded "
                               f"already", field="months")
        return RefundLine(line=number, period=period,
                          amount_idr=line.amount_idr // line.months)
    raise RefundNotDue(f"participant {month.participant_id} has no line for {period} on this "
                       f"bill", field="months")


def _checked_span(program: Program, first: str, months: int) -> tuple[Period, int]:
    first = periods.parse(first)
    if months not in ADVANCE_MONTHS:
        raise InvalidInput(f"months must be one of {ADVANCE_MONTHS} (advance payment of 3, 6 "
                           f"or 12 months)", field="months")
    start, end = periods.of(program.coverage_start), periods.of(program.coverage_end)
    last = periods.shift(first, months - 1)
    if first < start or last > end:
        raise OutsideCoverageWindow(f"{first}..{last} is outside the program's coverage window "
                                    f"{start}..{end}", field="period")
    return first, months


def _refuse_when_issued(state: Bill | None, bill_id: str) -> None:
    if state is not None:
        raise BillAlreadyIssued(f"bill {bill_id} is already issued", field="bill_id")


def _refuse_duplicate_lines(rows: list[ImportedLine]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row.nik or row.kpj or "", row.period.strip())
        if key in seen:
            raise InvalidInput(f"line {row.line_no} repeats line {seen[key]} (same person, "
                               f"same period {row.period}); fix the file and import it again",
                               field="lines")
        seen[key] = row.line_no


def _existing(state: Bill | None) -> Bill:
    if state is None:
        raise BillNotFound("no such bill in this program", field="bill_id")
    return state


def _check_reference(reference: str, field: str) -> None:
    if not reference.strip():
        raise InvalidInput(f"{field} (e.g. the SP2D number) must not be blank", field=field)


def _main_source(program: Program) -> str:
    return max(program.budget_idr.items(), key=lambda item: item[1])[0]


def _line_indexes(spans: list[LineSpan]) -> Iterable[int]:
    for span in spans:
        yield from range(span.first - 1, span.last)
