"""``ledger``: the command line of a region's data officer.

    ledger db upgrade | serve | demo | import candidates|registry|kpj | program open|show
    ledger bill generate|import|pay|reverse | lapses record | report budget|findings
    ledger projections rebuild|status|run | bench import

Every command first says where the data is (on stderr). Exit codes: 0 done, 1 the ledger
refused (the refusal's code, field and detail go to stderr), 2 a usage error.
"""

import argparse
import os
import runpy
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import get_args

from ledger import demo, importer
from ledger.bill import GenerateBill, ImportBill, RecordPayment, ReversePayment
from ledger.bill_files import read_bill
from ledger.errors import InvalidInput, LedgerError
from ledger.events import FundingSource
from ledger.importer import ImportReport
from ledger.program import OpenProgram
from ledger.registry import CivilRegistry
from ledger.registry_files import load_registry
from ledger.service import Actor, utc_now
from ledger.settings import Settings
from ledger.storage import migrate
from ledger.system import System, open_system
from projections import report_files, views

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNDING_SOURCES = get_args(FundingSource)
SHOWN_REJECTIONS = 10


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    # The benchmark's own options pass through untouched; any other command refuses extras.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command is not bench_import:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        settings = Settings.from_env()
        args.command(settings, args)
    except LedgerError as error:
        field = f" [{error.field}]" if error.field else ""
        print(f"ledger: refused ({error.code}){field}: {error.detail}", file=sys.stderr)
        return 1
    return 0


def actor() -> Actor:
    return Actor(os.environ.get("USER", "cli"), "cli")


def where(settings: Settings) -> None:
    """Where the data is, on stderr: stdout stays the command's output (the bench's JSON)."""
    print(f"data dir: {settings.data_dir}\ndatabase: {settings.redacted_url}", file=sys.stderr)


# Commands


def db_upgrade(settings: Settings, _: argparse.Namespace) -> None:
    where(settings)
    applied = migrate(settings.database_url)
    print(f"applied: {', '.join(applied)}" if applied else "already up to date")


def serve(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    try:
        from api.server import serve as serve_http  # the HTTP stack only when serving
    except ImportError as error:
        raise InvalidInput(f"the HTTP API cannot be loaded: {error}", field="serve") from None

    serve_http(settings, args.host, args.port)


def run_demo(settings: Settings, args: argparse.Namespace) -> None:
    settings = demo.prepare_database(
        settings, configured=bool(os.environ.get("LEDGER_DATABASE_URL")))
    where(settings)
    with open_system(settings) as system:
        demo.run(system, seed=args.seed, count=args.count, say=print)


def import_file(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    progress = args.progress or sys.stderr.isatty()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    rejections = args.rejections or (
        settings.data_dir / "reports" / f"{args.kind}-rejections-{stamp}.csv")
    with open_system(settings) as system:
        if args.kind == "candidates":
            report = importer.import_candidates(
                system, args.program, args.file, actor(), registry=_registry(args),
                rejections_path=rejections, progress=progress)
        elif args.kind == "registry":
            report = importer.import_registry(
                system, args.program, args.file, actor(), p3ke_path=args.p3ke,
                rejections_path=rejections, progress=progress)
        else:
            report = importer.import_kpj(
                system, args.program, args.file, actor(), coverage_start=args.coverage_start,
                batch=args.batch, rejections_path=rejections, progress=progress)
    print_report(args.file, report)


def _registry(args: argparse.Namespace) -> CivilRegistry | None:
    if args.registry is None:
        if args.p3ke is not None:
            raise InvalidInput("a P3KE file is used only with the --registry extract it "
                               "complements", field="p3ke")
        return None
    skipped: list[object] = []
    registry = load_registry(args.registry, args.p3ke, on_rejected=skipped.append)
    print(f"registry {args.registry.name}: {len(registry):,} people; {len(skipped):,} "
          "malformed rows skipped (import the extract with `ledger import registry` "
          "for their report)")
    return registry


def program_open(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    command = OpenProgram(
        program_id=args.id, region_code=args.region_code, region_name=args.region_name,
        fiscal_year=args.fiscal_year, agreement_ref=args.agreement_ref,
        quota_total=args.quota, cohort_quotas=dict(args.cohort),
        budget_idr=dict(args.budget), coverage_start=args.coverage_start,
        coverage_end=args.coverage_end, enrollment_age_cap=args.age_cap,
        p3ke_cohorts=args.p3ke_cohort)
    with open_system(settings) as system:
        system.ledger.open_program(command, actor())
        system.projections.catch_up()
        print(demo.program_report(system, args.id, top=None))


def program_show(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    with open_system(settings) as system:
        system.ledger.program(args.id)  # refuses an unknown program by name
        system.projections.catch_up()
        print(demo.program_report(system, args.id, top=None))


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
        lapsed_from = {entry.participant_id: entry.lapsed_from
                       for entry in views.roster(system.storage.db, args.program)}
    recorded = [(str(r.participant_id), lapsed_from.get(str(r.participant_id)) or "")
                for r in results if r.error is None]
    print(f"lapses recorded as of {args.as_of}: {len(recorded):,}")
    if recorded:
        print(demo.table(("participant", "lapsed from"), recorded))
    refused = [(str(r.participant_id), r.error.code, r.error.detail)
               for r in results if r.error is not None]
    if refused:
        print("refused\n" + demo.table(("participant", "code", "detail"), refused))


def report_budget(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    with open_system(settings) as system:
        system.ledger.program(args.program)  # refuses an unknown program by name
        report = report_files.budget_report(system, args.program, args.as_of, args.position)
    write_report(args, report_files.budget_title(report), report_files.budget_sections(report))


def report_findings(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    with open_system(settings) as system:
        system.ledger.program(args.program)
        report = report_files.findings_report(system, args.program, args.as_of, args.position)
    write_report(args, report_files.findings_title(report),
                 report_files.findings_sections(report))


def projections_rebuild(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    with open_system(settings) as system:
        if args.name and args.name not in system.projections.names:
            raise InvalidInput(f"no projection {args.name!r}; there are "
                               f"{', '.join(system.projections.names)}", field="name")
        applied = system.projections.rebuild(args.name)
    print(f"rebuilt {args.name or 'all projections'}: {applied:,} events replayed")


def projections_status(settings: Settings, _: argparse.Namespace) -> None:
    where(settings)
    with open_system(settings) as system:
        head = system.store.head()
        rows = [(name, position, head - position)
                for name, position in system.projections.positions().items()]
    print(f"log head: {head:,}\n" + demo.table(("projection", "position", "lag"), rows))


def projections_run(settings: Settings, args: argparse.Namespace) -> None:
    """A projection worker: follows the log until SIGTERM or SIGINT."""
    where(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with open_system(settings) as system:
        print("projection worker running; stop it with SIGTERM or Ctrl-C", file=sys.stderr)
        system.projections.run(stop, args.idle_wait)


def bench_import(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    script = REPO_ROOT / "bench" / "import_candidates.py"
    if not script.is_file():
        raise InvalidInput(f"no benchmark at {script}: `ledger bench` runs from a source "
                           "checkout of the repository", field="bench")
    sys.argv = [str(script), *args.extra]
    runpy.run_path(str(script), run_name="__main__")


# Output


def print_report(path: Path, report: ImportReport) -> None:
    print(f"imported {report.kind} from {path.name}: {demo.describe(report)}")
    if report.rejections_path:
        print(f"rejection report: {report.rejections_path}")
        shown = report.rejections[:SHOWN_REJECTIONS]
        print(demo.table(("row", "field", "reason"),
                         [(r.row, r.field, r.reason) for r in shown]))
        if report.rejected > len(shown):
            print(f"... and {report.rejected - len(shown):,} more in the report")


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


def write_report(args: argparse.Namespace, title: str,
                 sections: list[report_files.Section]) -> None:
    print(report_files.text(title, sections))
    for path, render in ((args.csv, report_files.csv_bytes),
                         (args.xlsx, report_files.xlsx_bytes)):
        if path is None:
            continue
        try:
            path.write_bytes(render(sections))
        except OSError as error:
            raise InvalidInput(f"cannot write {path}: {error.strerror}",
                               field=path.suffix.lstrip(".") or "file") from None
        print(f"wrote {path}")


# Arguments


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ledger", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    db = commands.add_parser("db", help="the database schema").add_subparsers(required=True)
    db.add_parser("upgrade", help="apply pending migrations").set_defaults(command=db_upgrade)
    http = commands.add_parser("serve", help="run the HTTP API")
    http.add_argument("--host", default="127.0.0.1")
    http.add_argument("--port", type=int, default=8000)
    http.set_defaults(command=serve)
    scenario = commands.add_parser("demo", help="run the Kotamobagu scenario")
    scenario.add_argument("--seed", type=int, default=2024)
    scenario.add_argument("--count", type=_positive, default=9000)
    scenario.set_defaults(command=run_demo)
    _import_parsers(commands)
    _program_parsers(commands)
    _bill_parsers(commands)
    _report_parsers(commands)
    proj = commands.add_parser("projections", help="read models").add_subparsers(required=True)
    rebuild = proj.add_parser("rebuild", help="drop and replay one projection or all")
    rebuild.add_argument("name", nargs="?")
    rebuild.set_defaults(command=projections_rebuild)
    proj.add_parser("status", help="positions and lag").set_defaults(command=projections_status)
    worker = proj.add_parser("run", help="keep projections caught up (a worker process)")
    worker.add_argument("--idle-wait", type=float, default=0.2,
                        help="seconds to wait when there is nothing new (default 0.2)")
    worker.set_defaults(command=projections_run)
    bench = commands.add_parser("bench", help="benchmarks").add_subparsers(required=True)
    bench.add_parser("import", help="run bench/import_candidates.py (its options follow)",
                     add_help=False).set_defaults(command=bench_import)
    return parser


def _import_parsers(commands: argparse._SubParsersAction) -> None:
    kinds = commands.add_parser("import", help="import a CSV file").add_subparsers(
        required=True, dest="kind")
    for kind, help_text in (("candidates", "village candidate lists"),
                            ("registry", "a Disdukcapil extract: verifies the candidates"),
                            ("kpj", "KPJ numbers from BPJS TK: enrolls the matched")):
        sub = kinds.add_parser(kind, help=help_text)
        sub.add_argument("--program", required=True, metavar="ID")
        sub.add_argument("file", type=Path, metavar="FILE")
        sub.add_argument("--rejections", type=Path, metavar="OUT.csv")
        sub.add_argument("--progress", action="store_true", help="show a progress bar")
        sub.set_defaults(command=import_file)
    kinds.choices["candidates"].add_argument("--registry", type=Path, metavar="F")
    for kind in ("candidates", "registry"):
        kinds.choices[kind].add_argument("--p3ke", type=Path, metavar="F")
    kinds.choices["kpj"].add_argument("--coverage-start", type=_day,
                                      required=True, metavar="YYYY-MM-DD")
    kinds.choices["kpj"].add_argument("--batch", required=True, metavar="NAME")


def _program_parsers(commands: argparse._SubParsersAction) -> None:
    program = commands.add_parser("program", help="agreements").add_subparsers(required=True)
    opening = program.add_parser("open", help="open a program (PKS)")
    opening.add_argument("--id", required=True)
    opening.add_argument("--region-code", required=True)
    opening.add_argument("--region-name", required=True)
    opening.add_argument("--fiscal-year", type=int, required=True)
    opening.add_argument("--agreement-ref", required=True)
    opening.add_argument("--quota", type=int, required=True)
    opening.add_argument("--cohort", type=_name_amount, action="append", default=[],
                         metavar="NAME=N")
    opening.add_argument("--p3ke-cohort", action="append", default=[], metavar="NAME")
    opening.add_argument("--budget", type=_budget, action="append", required=True,
                         metavar="SOURCE=AMOUNT", help="integer Rupiah, e.g. APBD=1512000000")
    opening.add_argument("--coverage-start", type=_day, required=True)
    opening.add_argument("--coverage-end", type=_day, required=True)
    opening.add_argument("--age-cap", type=int, default=65)
    opening.set_defaults(command=program_open)
    show = program.add_parser("show", help="summary and backlog")
    show.add_argument("id")
    show.set_defaults(command=program_show)


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
    pay.add_argument("--paid-on", type=_day, required=True, metavar="YYYY-MM-DD")
    pay.add_argument("--amount", type=int, required=True, metavar="N", help="whole Rupiah")
    pay.add_argument("--funding-source", choices=FUNDING_SOURCES)
    pay.set_defaults(command=bill_pay)
    reverse.add_argument("--reversed-on", type=_day, required=True, metavar="YYYY-MM-DD")
    reverse.add_argument("--reason", required=True)
    reverse.set_defaults(command=bill_reverse)
    lapses = commands.add_parser("lapses", help="memberships ended by unpaid months")
    record = lapses.add_subparsers(required=True).add_parser(
        "record", help="record the lapse of every member whose unpaid months ended it")
    record.add_argument("--program", required=True, metavar="ID")
    record.add_argument("--as-of", type=_day, required=True, metavar="YYYY-MM-DD")
    record.set_defaults(command=lapses_record)


def _report_parsers(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser("report", help="budget and findings").add_subparsers(
        required=True)
    for name, command, help_text in (
            ("budget", report_budget, "budget, billed, paid, committed, available"),
            ("findings", report_findings, "what finance teams and auditors chase")):
        sub = report.add_parser(name, help=help_text)
        sub.add_argument("--program", required=True, metavar="ID")
        when = sub.add_mutually_exclusive_group()
        when.add_argument("--as-of", metavar="YYYY-MM",
                          help="as the ledger had recorded it by the end of that month")
        when.add_argument("--position", type=int, metavar="N",
                          help="after the log's first N events")
        sub.add_argument("--csv", type=Path, metavar="FILE")
        sub.add_argument("--xlsx", type=Path, metavar="FILE")
        sub.set_defaults(command=command)


def _name_amount(text: str) -> tuple[str, int]:
    name, _, amount = text.partition("=")
    if not name or not amount.replace("_", "").isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=WHOLE_NUMBER")
    return name, int(amount)


def _budget(text: str) -> tuple[str, int]:
    source, amount = _name_amount(text)
    if source not in FUNDING_SOURCES:
        raise argparse.ArgumentTypeError(
            f"funding source {source!r} is not one of {', '.join(FUNDING_SOURCES)}")
    return source, amount


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


if __name__ == "__main__":
    sys.exit(main())
