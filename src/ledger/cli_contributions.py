"""``ledger bill``, ``ledger lapses`` and ``ledger report budget|findings``: contributions as a
finance officer records and reports them."""

import argparse
from pathlib import Path
from typing import get_args

from ledger import demo
from ledger.bill import GenerateBill, ImportBill, RecordPayment, ReversePayment
from ledger.bill_files import read_bill
from ledger.cli_common import actor, add_report_options, day, report_command, where
from ledger.errors import InvalidInput
from ledger.events import FundingSource
from ledger.service import utc_now
from ledger.settings import Settings
from ledger.system import System, open_system
from projections import report_files, views

FUNDING_SOURCES = get_args(FundingSource)


def bill_generate(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    command = GenerateBill(period=args.period, months=args.months,
                           funding_source=args.funding_source, bill_id=args.bill_id)
    with open_system(settings) as system:
        issued = system.contributions.generate_bill(args.program, command, actor())
        print(describe_bill(system, args.program, issued.issued.bill_id))


def bill_import(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    rows = read_bill(args.file)
    command = ImportBill(bill_id=args.bill_id, document_ref=args.document_ref,
                         funding_source=args.funding_source,
                         stated_total_idr=args.stated_total)
    with open_system(settings) as system:
        issued = system.contributions.import_bill(args.program, command, rows, actor())
        print(describe_bill(system, args.program, args.bill_id))
    flagged = [(number, row.line_no, " ".join(line.flags))
               for number, (line, row) in enumerate(zip(issued.issued.lines, rows, strict=True),
                                                    start=1) if line.flags]
    if flagged:
        print("flagged lines\n" + demo.table(("line", "file row", "flags"), flagged))


def bill_pay(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    command = RecordPayment(payment_ref=args.ref, paid_on=args.paid_on, amount_idr=args.amount,
                            funding_source=args.funding_source)
    with open_system(settings) as system:
        system.contributions.record_payment(args.program, args.bill, command, actor())
        print(describe_bill(system, args.program, args.bill))


def bill_reverse(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    command = ReversePayment(payment_ref=args.ref, reversed_on=args.reversed_on,
                             reason=args.reason)
    with open_system(settings) as system:
        system.contributions.reverse_payment(args.program, args.bill, command, actor())
        print(describe_bill(system, args.program, args.bill))


def lapses_record(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    if args.as_of > utc_now().date():
        raise InvalidInput("--as-of is in the future: a lapse is recorded once it happened",
                           field="as_of")
    with open_system(settings) as system:
        results = system.contributions.record_lapses(args.program, args.as_of, actor())
        system.projections.catch_up()
        lapsed_from = views.lapsed_from(system.storage.db, args.program)
    recorded = [(str(r.participant_id), lapsed_from.get(str(r.participant_id)) or "")
                for r in results if r.error is None]
    print(f"lapses recorded as of {args.as_of}: {len(recorded):,}")
    if recorded:
        print(demo.table(("participant", "lapsed from"), recorded))
    refused = [(str(r.participant_id), r.error.code, r.error.detail)
               for r in results if r.error is not None]
    if refused:
        print("refused\n" + demo.table(("participant", "code", "detail"), refused))


def describe_bill(system: System, program_id: str, bill_id: str) -> str:
    """One line on a bill as the read models show it (caught up first)."""
    system.projections.catch_up()
    b = views.bill(system.storage.db, program_id, bill_id)
    outstanding = b["billed_idr"] - b["paid_idr"]
    return (f"bill {b['bill_id']} ({b['source']}, {b['funding_source']}, {b['months']} "
            f"month(s) from {b['first_period']}): {b['lines']:,} lines, "
            f"{b['flagged_lines']:,} flagged; billed {demo.rupiah(b['billed_idr'])}, paid "
            f"{demo.rupiah(b['paid_idr'])}, refunded {demo.rupiah(b['refunded_idr'])}, "
            f"outstanding {demo.rupiah(outstanding)}")


# Arguments


def add_parsers(commands: argparse._SubParsersAction,
                reports: argparse._SubParsersAction) -> None:
    _bill_parsers(commands)
    lapses = commands.add_parser("lapses", help="memberships ended by unpaid months")
    record = lapses.add_subparsers(required=True).add_parser(
        "record", help="record the lapse of every member whose unpaid months ended it")
    record.add_argument("--program", required=True, metavar="ID")
    record.add_argument("--as-of", type=day, required=True, metavar="YYYY-MM-DD")
    record.set_defaults(command=lapses_record)
    budget = reports.add_parser("budget", help="budget, billed, paid, committed, available")
    add_report_options(budget)
    budget.set_defaults(command=report_command(
        report_files.budget_report, report_files.budget_title, report_files.budget_sections))
    findings = reports.add_parser("findings", help="what finance teams and auditors chase")
    add_report_options(findings)
    findings.set_defaults(command=report_command(
        report_files.findings_report, report_files.findings_title,
        report_files.findings_sections))


def _bill_parsers(commands: argparse._SubParsersAction) -> None:
    bill = commands.add_parser("bill", help="bills (tagihan) and their payments").add_subparsers(
        required=True)
    generate = bill.add_parser("generate", help="bill the enrolled participants for months")
    generate.add_argument("--program", required=True, metavar="ID")
    generate.add_argument("--period", required=True, metavar="YYYY-MM")
    generate.add_argument("--months", type=int, default=1,
                          help="1, or 3, 6 or 12 for an advance bill")
    generate.add_argument("--funding-source", choices=FUNDING_SOURCES)
    generate.add_argument("--bill-id", help="by default the period (and months)")
    generate.set_defaults(command=bill_generate)
    imported = bill.add_parser("import", help="a bill file from BPJS TK (kpj,nik,period,"
                               "amount_idr)")
    imported.add_argument("file", type=Path, metavar="FILE")
    imported.add_argument("--program", required=True, metavar="ID")
    imported.add_argument("--bill-id", required=True, help="the invoice number")
    imported.add_argument("--document-ref", required=True, help="the letter or file it came with")
    imported.add_argument("--funding-source", choices=FUNDING_SOURCES)
    imported.add_argument("--stated-total", type=int, metavar="N",
                          help="the invoice's own total in Rupiah")
    imported.set_defaults(command=bill_import)
    pay = bill.add_parser("pay", help="record a payment (SP2D) against a bill")
    reverse = bill.add_parser("reverse", help="reverse a payment (bounced, recorded in error)")
    for sub in (pay, reverse):
        sub.add_argument("--program", required=True, metavar="ID")
        sub.add_argument("--bill", required=True, metavar="ID")
        sub.add_argument("--ref", required=True, help="the payment reference (SP2D number)")
    pay.add_argument("--paid-on", type=day, required=True, metavar="YYYY-MM-DD")
    pay.add_argument("--amount", type=int, required=True, metavar="N", help="whole Rupiah")
    pay.add_argument("--funding-source", choices=FUNDING_SOURCES)
    pay.set_defaults(command=bill_pay)
    reverse.add_argument("--reversed-on", type=day, required=True, metavar="YYYY-MM-DD")
    reverse.add_argument("--reason", required=True)
    reverse.set_defaults(command=bill_reverse)
