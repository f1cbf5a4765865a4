"""``ledger``: the command line of a region's data officer.

    ledger db upgrade | serve | demo | import candidates|registry|kpj | program open|show
    ledger bill generate|import|pay|reverse | lapses record      (ledger/cli_contributions.py)
    ledger claim report|document|heir|assess|approve|reject|pay|close|reopen|show
                                                                 (ledger/cli_claims.py)
    ledger report budget|findings|claims | projections rebuild|status|run|checkpoint
    ledger bench import|contributions|audit|http|http-floor
    ledger audit verify|digest|export                            (ledger/cli_audit.py)
    ledger keys new|rotate|show                                  (ledger/cli_keys.py)
    ledger token create|list|revoke                              (ledger/cli_tokens.py)

Every command first says where the data is (on stderr). Exit codes: 0 done, 1 the ledger
refused (the refusal's code, field and detail go to stderr), 2 a usage error.
"""

import argparse
import math
import os
import runpy
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import structlog

from ledger import cli_audit, cli_claims, cli_contributions, cli_keys, cli_tokens, demo, importer
from ledger.cli_common import actor, day, where
from ledger.cli_contributions import FUNDING_SOURCES
from ledger.collector import collecting_less
from ledger.errors import InvalidInput, LedgerError
from ledger.importer import ImportReport
from ledger.program import OpenProgram
from ledger.registry import CivilRegistry
from ledger.registry_files import load_registry
from ledger.settings import Settings
from ledger.storage import migrate
from ledger.system import open_system
from projections import as_of, views
from projections.worker import run_when_active

REPO_ROOT = Path(__file__).resolve().parents[2]
SHOWN_REJECTIONS = 10


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    # The benchmark's own options pass through untouched; any other command refuses extras.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command is not run_benchmark:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    if args.command is not serve:  # the service logs JSON lines on stdout, for its container
        log_to_stderr()
    try:
        settings = Settings.from_env()
        args.command(settings, args)
    except LedgerError as error:
        field = f" [{error.field}]" if error.field else ""
        print(f"ledger: refused ({error.code}){field}: {error.detail}", file=sys.stderr)
        return 1
    return 0


def log_to_stderr() -> None:
    """Log lines (an as-of replay, a checkpoint passed over) go to stderr, beside where the
    data is: stdout holds only the command's answer, which may be piped or parsed. The
    stream is looked up at each line, so a stderr redirected later is honoured."""
    structlog.configure(logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
                        cache_logger_on_first_use=False)


# Commands


def db_upgrade(settings: Settings, _: argparse.Namespace) -> None:
    where(settings)
    applied = migrate(settings.migration_url or settings.database_url)
    print(f"applied: {', '.join(applied)}" if applied else "already up to date")


def serve(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    try:
        from api.server import serve as serve_http  # the HTTP stack only when serving
    except ImportError as error:
        raise InvalidInput(f"the HTTP API cannot be loaded: {error}", field="serve") from None

    # Before the app starts: there, a role that may not migrate would end in a traceback.
    migrate(settings.migration_url or settings.database_url)
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


def projections_checkpoint(settings: Settings, args: argparse.Namespace) -> None:
    """Keep programs' read models replayed to the log head as as-of checkpoints
    (projections/checkpoints.py), once, or every ``--every`` hours until SIGTERM: an
    auditor's as-of then replays only what came after the last round."""
    where(settings)
    stop = _stopped_by_signals() if args.every else threading.Event()
    with open_system(settings) as system:
        for program_id in args.program:
            system.ledger.check_program(program_id)  # refuses an unknown program by name
        while not stop.is_set():
            head = system.store.head()
            system.projections.catch_up(upto=head)  # lists every program opened by then
            for program_id in args.program or views.program_ids(system.storage.db):
                started = time.perf_counter()
                as_of.keep_checkpoint(system, program_id, head)
                print(f"{program_id}: checkpoint at log position {head:,} "
                      f"({time.perf_counter() - started:.1f} s)", flush=True)
            if not args.every:
                break
            stop.wait(args.every * 3600)


def _stopped_by_signals() -> threading.Event:
    """Set on SIGTERM (``docker compose stop``) or SIGINT (Ctrl-C).

    Not by the signal handler: Python runs it in the main thread between two steps, and
    when those steps are inside ``stop.wait``, which holds the event's lock around its
    checks, ``stop.set`` waits for that lock forever (a worker looping every 50 ms was
    caught there about once in four runs). The signal's number is written to a pipe
    instead (``signal.set_wakeup_fd``, below Python), and a thread reading the pipe sets
    the event, which waits only until the main thread lets go of the lock."""
    stop = threading.Event()
    readable, writable = os.pipe()
    os.set_blocking(writable, False)
    signal.set_wakeup_fd(writable)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)  # not the default, which ends the process

    def watch() -> None:
        os.read(readable, 1)
        stop.set()

    threading.Thread(target=watch, name="signal-watch", daemon=True).start()
    return stop


def projections_run(settings: Settings, args: argparse.Namespace) -> None:
    """A projection worker: follows the log until SIGTERM or SIGINT."""
    where(settings)
    stop = _stopped_by_signals()
    with open_system(settings) as system, collecting_less():
        print("projection worker running; stop it with SIGTERM or Ctrl-C", file=sys.stderr)
        run_when_active(system.storage.db, stop,
                        lambda: system.projections.run(stop, args.idle_wait),
                        lambda line: print(line, file=sys.stderr, flush=True))


BENCHMARKS = {
    "import": ("import_candidates.py", "a 35,000-row candidate import, end to end"),
    "contributions": ("contributions.py", "a month's bill and payment of 35,000 members, "
                                           "budget and findings"),
    "audit": ("audit.py", "a million-event log read, verified, rebuilt, and reported as of"),
    "http": ("http_load.py", "concurrent clients' commands and queries against the API, "
                             "beside the same mix in process"),
    "http-floor": ("http_floor.py", "the least an event-sourced command does, over the API's "
                                    "HTTP stack and the same clients: this machine's floor"),
}


def run_benchmark(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    script = REPO_ROOT / "bench" / BENCHMARKS[args.benchmark][0]
    if not script.is_file():
        raise InvalidInput(f"no benchmark at {script}: `ledger bench` runs from a source "
                           "checkout of the repository", field="bench")
    sys.argv = [str(script), *args.extra]
    sys.path.insert(0, str(script.parent))  # as `python bench/x.py` would: bench/scratch.py
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
    scenario = commands.add_parser("demo",
                                   help="run the Kotamobagu and Minahasa Tenggara scenarios")
    scenario.add_argument("--seed", type=int, default=2024)
    scenario.add_argument("--count", type=_positive, default=9000)
    scenario.set_defaults(command=run_demo)
    _import_parsers(commands)
    _program_parsers(commands)
    reports = commands.add_parser("report", help="budget, findings and claims reports"
                                  ).add_subparsers(required=True)
    cli_contributions.add_parsers(commands, reports)
    cli_claims.add_parsers(commands, reports)
    cli_audit.add_parsers(commands)
    cli_keys.add_parsers(commands)
    cli_tokens.add_parsers(commands)
    proj = commands.add_parser("projections", help="read models").add_subparsers(required=True)
    rebuild = proj.add_parser("rebuild", help="replay one projection or all from the log and "
                              "swap it in; the old one serves until then")
    rebuild.add_argument("name", nargs="?", help="a projection (default: all)")
    rebuild.set_defaults(command=projections_rebuild)
    proj.add_parser("status", help="positions and lag").set_defaults(command=projections_status)
    checkpoint = proj.add_parser("checkpoint", help="keep programs' read models at the log "
                                 "head, so that as-of reports replay only what follows")
    checkpoint.add_argument("--program", action="append", default=[],
                            help="a program id, repeatable (default: every program)")
    checkpoint.add_argument("--every", type=_positive_hours, metavar="HOURS",
                            help="keep them again every HOURS until stopped (SIGTERM): "
                                 "a service of its own, e.g. --every 24")
    checkpoint.set_defaults(command=projections_checkpoint)
    worker = proj.add_parser("run", help="keep projections caught up (a worker process)")
    worker.add_argument("--idle-wait", type=float, default=0.2,
                        help="seconds to wait when there is nothing new (default 0.2)")
    worker.set_defaults(command=projections_run)
    bench = commands.add_parser("bench", help="benchmarks").add_subparsers(required=True)
    for name, (script, what) in BENCHMARKS.items():
        bench.add_parser(name, help=f"{what} (bench/{script}; its options follow)",
                         add_help=False).set_defaults(command=run_benchmark, benchmark=name)
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
    kinds.choices["kpj"].add_argument("--coverage-start", type=day,
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
    opening.add_argument("--coverage-start", type=day, required=True)
    opening.add_argument("--coverage-end", type=day, required=True)
    opening.add_argument("--age-cap", type=int, default=65)
    opening.set_defaults(command=program_open)
    show = program.add_parser("show", help="summary and backlog")
    show.add_argument("id")
    show.set_defaults(command=program_show)


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


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _positive_hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        hours = math.nan
    if not (math.isfinite(hours) and hours > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours above 0")
    return hours


if __name__ == "__main__":
    sys.exit(main())
