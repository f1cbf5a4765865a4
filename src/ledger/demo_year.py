"""The Kotamobagu demo's year after enrollment: bills, payments, deaths, a budget revision.

Kota Kotamobagu pays BPJS TK monthly from its APBD for everyone enrolled, through
the same service calls a finance officer uses. The year brings what finance teams
and auditors know from real ones:

- June's contributions are paid late, on 20 August, when the delayed APBD
  disbursement comes: inside the three-month arrears window, so cover is restored
  and nobody is left with a gap;
- BPJS TK sends a supplementary bill (tagihan susulan) for April naming one person
  April's own bill already had, and it is paid: a double payment;
- in October a family reports three deaths of 17 August, after September and
  October had been paid for them: paid after death, refunds due to the city;
- in September the APBD-Perubahan revises the budget down to 80% (the unused quota's
  money goes elsewhere).

At the end it prints the budget summary and the findings as of 31 December 2024,
read from the projections.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from ledger import periods
from ledger.bill import Bill, GenerateBill, ImportBill, ImportedLine, RecordPayment
from ledger.participant import Terminate
from ledger.program import ReviseBudget
from ledger.service import Actor
from ledger.system import System
from projections import report_files
from projections.budget import budget_summary
from projections.findings import findings

FINANCE = Actor("demo-finance", "finance_officer")
CLERK = Actor("demo-clerk", "enrollment_clerk")
YEAR_END = date(2024, 12, 31)
PAY_DAY = 10
LATE = ("2024-06", date(2024, 8, 20))
"""June, paid when the delayed APBD disbursement arrived (its window closes 30 September)."""
SUPPLEMENT = ("2024-04", date(2024, 5, 3))
DEATHS, DIED_ON, DEATHS_REPORTED_AFTER = 3, date(2024, 8, 17), "2024-10"
REVISION_AFTER, REVISION_PERCENT = "2024-09", 80

Say = Callable[[str], None]


@dataclass
class YearResult:
    paid_idr: int = 0
    """Every payment the year recorded, added up."""
    payments: list[str] = field(default_factory=list)
    died: list[str] = field(default_factory=list)
    """Participant ids of the deaths reported late."""
    paid_twice: str | None = None
    """The participant the supplementary bill paid for a second time."""
    revised_budget_idr: int | None = None


def run_year(system: System, program_id: str, say: Say) -> YearResult:
    """Bill and pay every month of the program's coverage window, as the story goes."""
    result = YearResult()
    prog = system.ledger.program(program_id)
    window = periods.between(periods.of(prog.coverage_start), periods.of(prog.coverage_end))
    bills: dict[str, Bill] = {}
    for period in window:
        bill = bills[period] = system.contributions.generate_bill(
            program_id, GenerateBill(period=period), FINANCE)
        note = f"{len(bill.issued.lines):,} lines, {_rupiah(bill.billed_idr)}"
        if period == LATE[0]:
            say(f"  {period}: billed {note}; not paid by the 15th: the APBD disbursement "
                f"is late")
        else:
            paid_on = periods.day_in(period, PAY_DAY)
            _pay(system, program_id, bill, paid_on, result)
            say(f"  {period}: billed {note}; paid {paid_on}")
        if period == periods.shift(LATE[0], 2):
            _pay(system, program_id, bills[LATE[0]], LATE[1], result)
            say(f"  {LATE[0]}: paid late on {LATE[1]}, inside its arrears window: cover "
                f"restored")
        if period == SUPPLEMENT[0]:
            _supplement(system, program_id, bill, result, say)
        if period == REVISION_AFTER:
            _revise_budget(system, program_id, result, say)
        if period == DEATHS_REPORTED_AFTER:
            _deaths(system, program_id, bills[window[0]], result, say)
    return result


def _pay(system: System, program_id: str, bill: Bill, paid_on: date,
         result: YearResult) -> None:
    ref = f"SP2D/{bill.issued.bill_id}/{len(result.payments) + 1:03d}"
    system.contributions.record_payment(program_id, bill.issued.bill_id, RecordPayment(
        payment_ref=ref, paid_on=paid_on, amount_idr=bill.outstanding_idr), FINANCE)
    result.payments.append(ref)
    result.paid_idr += bill.outstanding_idr


def _supplement(system: System, program_id: str, bill: Bill, result: YearResult,
                say: Say) -> None:
    """BPJS TK's tagihan susulan for a month, naming someone that month's bill had."""
    line = bill.issued.lines[len(bill.issued.lines) // 2]
    supplement = system.contributions.import_bill(program_id, ImportBill(
        bill_id=f"BPJS-SUSULAN-{SUPPLEMENT[0]}", document_ref="tagihan susulan April.csv"),
        [ImportedLine(line_no=1, nik=line.nik, kpj=line.kpj, period=SUPPLEMENT[0],
                      amount_idr=line.amount_idr)], FINANCE)
    _pay(system, program_id, supplement, SUPPLEMENT[1], result)
    result.paid_twice = line.participant_id
    say(f"  {SUPPLEMENT[0]}: a supplementary bill from BPJS TK for 1 person already on "
        f"April's bill, paid {SUPPLEMENT[1]}")


def _revise_budget(system: System, program_id: str, result: YearResult,
                   say: Say) -> None:
    budget = system.ledger.program(program_id).budget_idr
    revised = {source: amount * REVISION_PERCENT // 100 for source, amount in budget.items()}
    system.ledger.revise_budget(program_id, ReviseBudget(
        budget_idr=revised, reason="APBD-Perubahan 2024: money of the unused quota moved",
        revision_ref="Perda APBD-P 7174/2024"), FINANCE)
    result.revised_budget_idr = sum(revised.values())
    say(f"  {REVISION_AFTER}: APBD-Perubahan revises the budget to "
        f"{_rupiah(result.revised_budget_idr)} ({REVISION_PERCENT}%)")


def _deaths(system: System, program_id: str, first_bill: Bill, result: YearResult,
            say: Say) -> None:
    """Deaths in August reported in October, after September and October were paid."""
    lines = first_bill.issued.lines
    for line in lines[1::max(1, len(lines) // DEATHS)][:DEATHS]:
        system.ledger.terminate(program_id, UUID(line.participant_id), Terminate(
            reason="died", effective_date=DIED_ON, note="reported by the family in October"),
            CLERK)
        result.died.append(line.participant_id)
    say(f"  {DEATHS_REPORTED_AFTER}: {len(result.died)} deaths of {DIED_ON} reported, after "
        f"September and October were paid for them")


def year_report(system: System, program_id: str, as_of: date = YEAR_END) -> str:
    """The budget summary and the findings as of ``as_of``, as readable tables."""
    system.projections.catch_up()
    position = system.store.head()
    with system.storage.db.snapshot() as tx:
        budget = budget_summary(tx, program_id, as_of)
        found = findings(tx, program_id, as_of)
    if budget is None or found is None:
        return f"(no budget or findings for {program_id})"
    budget_report = report_files.BudgetReport(program_id=program_id, as_of=as_of,
                                              position=position, budget=budget)
    findings_report = report_files.FindingsReport(program_id=program_id, as_of=as_of,
                                                  position=position, findings=found)
    return "\n\n".join([
        report_files.text(report_files.budget_title(budget_report),
                          report_files.budget_sections(budget_report)),
        report_files.text(report_files.findings_title(findings_report),
                          report_files.findings_sections(findings_report)),
    ])


def _rupiah(amount_idr: int) -> str:
    return "Rp" + f"{amount_idr:,}".replace(",", ".")
