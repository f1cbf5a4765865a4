"""Audit benchmark: a log of a million events on PostgreSQL, read, verified, rebuilt, as of.

Set-up (not measured), in a scratch database: a Makassar-sized program of
``--participants`` people (35,000) submitted, verified and enrolled from January
through the service's batch paths, every month of the year billed and paid; then
generated candidate lists of other regencies imported through the bulk CSV path
(``ledger import candidates`` with a registry extract: a clean row appends two
events, a malformed one none) until the log holds ``--events``.

Measured, each in a fresh child process:

- ``raw_read``: psycopg reading the same ``stored_events`` rows in global order
  (binary, server-side cursor), touching nothing: the floor for anything that reads
  the whole log;
- ``audit_verify``: ``ledger audit verify`` (``ledger.audit.verify``), every event's
  hash recomputed along the chain;
- ``rebuild``: ``ledger projections rebuild`` of every projection, with the CPU it took
  (its process, its lanes' processes and a local server's) beside what two cores give at
  the target;
- ``as_of_budget``: ``ledger report budget --as-of MONTH`` of the 35,000-member
  program (``report_files.budget_report``), MONTH the current one, so the program's
  streams are replayed up to the head: from the program's checkpoint kept before the
  day's payment (the target's figure), from one kept a month before, asked again at a
  checkpoint's position, and with no checkpoint from the log's start; the same at a past
  ``--position`` (after June's payment); beside them the same report from the live read
  models, and with ``--full-replay`` the whole log replayed into every projection (the
  as-of before it was scoped to the program);
- ``as_of_breakdown``: the as-of budget again, its parts timed (listing the program's
  streams, finding their events, reading and decoding them, each projection).

    python bench/audit.py [--events 1000000] [--participants 35000] [--database-url URL]
    python bench/audit.py --keep NAME --measure as_of_budget as_of_breakdown --full-replay

Prints one JSON object, with the CPU seconds a fixed Python loop took before and after
the measurements (``python_loop_cpu_s``): this machine's speed varies by half, so figures
of different runs compare only beside it.
"""

import argparse
import json
import math
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg

import contributions
from ledger import periods
from ledger.bill import GenerateBill, RecordPayment
from ledger.demo_data import generate_candidates
from ledger.events import BillIssued
from ledger.importer import import_candidates
from ledger.participant import Enroll
from ledger.program import OpenProgram
from ledger.registry import InMemoryRegistry
from ledger.registry_files import load_registry
from ledger.service import Actor, utc_now
from ledger.settings import Settings
from ledger.system import open_system, read_models
from projections.budget import budget_summary
from projections.contributions import ContributionsProjection
from projections.participants import ParticipantsProjection
from projections.programs import ProgramsProjection
from scratch import (
    add_keep_option,
    add_server_option,
    in_child,
    kept_database,
    peak_rss_mb,
    python_loop_cpu_s,
    scratch_database,
    server_cpu_s,
)

TARGETS = {"audit_verify_events_per_s": 100_000, "rebuild_events_per_s": 50_000,
           "as_of_budget_s": 2.0}
CLERK, FINANCE = Actor("bench", "enrollment_clerk"), Actor("bench", "finance_officer")
PROGRAM, YEAR = "bench-7371-2024", 2024
BATCH = 5_000
IMPORT_ROWS = 35_000
"""Rows per imported candidate list: one Makassar-sized regency each."""
MEASURES = ("raw_read", "audit_verify", "rebuild", "as_of_budget", "as_of_breakdown")
SETUP_FILE = "setup.json"
"""In a kept data directory: the set-up's figures, written once it completed."""
EVENTS_PER_ROW = 1.46
"""Events a generated row appends on average (about 27% are refused), to size the last list."""


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    with _database(args) as (url, data_dir, fresh):
        settings = Settings(database_url=url, data_dir=data_dir)  # one keyring for all
        setup = _kept_setup(settings, args, fresh)
        figures = {"benchmark": "audit", "events": setup["events_in_log"],
                   "participants": args.participants,
                   "python_loop_cpu_s": {"before": python_loop_cpu_s()}}
        measures = {"raw_read": lambda: in_child(_raw_read, url),
                    "audit_verify": lambda: in_child(_audit_verify, settings),
                    "rebuild": lambda: in_child(_rebuild, settings),
                    "as_of_budget": lambda: in_child(_as_of_budget, settings, args.full_replay,
                                                     setup["program_events"]),
                    "as_of_breakdown": lambda: in_child(_as_of_breakdown, settings)}
        for name in args.measure:
            figures[name] = measures[name]()
        figures["python_loop_cpu_s"]["after"] = python_loop_cpu_s()
        figures["setup"] = setup
    figures["targets"] = TARGETS
    met = {"audit_verify_events_per_s": ("audit_verify", "events_per_s", True),
           "rebuild_events_per_s": ("rebuild", "events_per_s", True),
           "as_of_budget_s": ("as_of_budget", "seconds", False)}
    figures["met"] = {target: (figures[name][key] >= TARGETS[target] if at_least
                               else figures[name][key] < TARGETS[target])
                      for target, (name, key, at_least) in met.items() if name in figures}
    print(json.dumps(figures, indent=2))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="events in the log, the program's own (~4 a member) first")
    parser.add_argument("--participants", type=int, default=35_000,
                        help="members of the program whose budget is reported as of")
    parser.add_argument("--measure", nargs="+", choices=MEASURES, default=list(MEASURES),
                        help="what to measure (default: everything)")
    add_keep_option(parser, "keep the set-up database (ledger_bench_keep_NAME) and its data "
                            "directory, and reuse them when they exist: set-up takes minutes")
    parser.add_argument("--full-replay", action="store_true",
                        help="also time the as-of budget by replaying the whole log into "
                             "every projection (how it was done before scoped replay: minutes)")
    add_server_option(parser)
    return parser.parse_args(argv)


@contextmanager
def _database(args: argparse.Namespace):
    """(url, data directory, whether set-up is still to do): a scratch database and data
    directory dropped after the run, or kept ones (``--keep``)."""
    if args.keep is None:
        with tempfile.TemporaryDirectory(prefix="ledger-bench-") as data_dir, \
                scratch_database(args.database_url) as url:
            yield url, Path(data_dir), True
        return
    with kept_database(args.database_url, args.keep) as (url, created):
        data_dir = Path(tempfile.gettempdir()) / f"ledger-bench-keep-{args.keep}"
        data_dir.mkdir(exist_ok=True)
        yield url, data_dir, created


def _kept_setup(settings: Settings, args: argparse.Namespace, fresh: bool) -> dict:
    """Set up a fresh database; a kept one answers with what its set-up recorded."""
    recorded = settings.data_dir / SETUP_FILE
    if not fresh:
        if not recorded.exists():
            raise SystemExit(f"the kept database of {settings.data_dir} was never set up in "
                             f"full: drop it (DROP DATABASE ledger_bench_keep_{args.keep}) "
                             "and run again")
        setup = json.loads(recorded.read_text())
        if (setup["events"], setup["participants"]) != (args.events, args.participants):
            raise SystemExit(f"the kept database holds --events {setup['events']} "
                             f"--participants {setup['participants']}: give those, or another "
                             "--keep name")
        return {**setup, "reused": True}
    setup = {**in_child(_set_up, settings, args.participants, args.events),
             "events": args.events, "participants": args.participants}
    if args.keep is not None:
        recorded.write_text(json.dumps(setup))
    return setup


# Set-up


def _set_up(settings: Settings, participants: int, events: int) -> dict:
    started = time.perf_counter()
    with open_system(settings) as system, tempfile.TemporaryDirectory() as tmp:
        _program_year(system, participants)
        program_events, number = system.store.head(), 0
        while (missing := events - system.store.head()) > 0:
            _import_regency(system, Path(tmp), number,
                            min(IMPORT_ROWS, max(1, round(missing / EVENTS_PER_ROW))))
            number += 1
        head = system.store.head()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # what autovacuum would have done over the year
    return {"seconds": round(time.perf_counter() - started, 1), "events_in_log": head,
            "program_events": program_events, "imported_lists": number}


def _program_year(system, participants: int) -> None:
    """The program reported on: everyone enrolled from January, each month billed and paid
    (the people of ``bench/contributions.py``)."""
    region_code, region_name = contributions.REGIONS[0]
    system.ledger.open_program(OpenProgram(
        program_id=PROGRAM, region_code=region_code, region_name=region_name,
        fiscal_year=YEAR, agreement_ref=f"PKS/{region_code}/BENCH", quota_total=participants,
        budget_idr={"APBD": participants * contributions.TARIFF_IDR * 12},
        coverage_start=date(YEAR, 1, 1), coverage_end=date(YEAR, 12, 31)), CLERK)
    rows = list(contributions.people(region_code, participants))
    registry = InMemoryRegistry("dukcapil:bench", [record for _, record in rows])
    for start in range(0, participants, BATCH):
        submitted = system.ledger.submit_batch(
            PROGRAM, [data for data, _ in rows[start:start + BATCH]], CLERK, registry=registry)
        enrolled = system.ledger.enroll_batch(PROGRAM, [
            (r.participant_id, Enroll(kpj=f"{start + i:011d}", coverage_start=date(YEAR, 1, 1),
                                      batch="tahap-1")) for i, r in enumerate(submitted)], CLERK)
        refused = [r.error for r in submitted + enrolled if r.error is not None]
        if refused:
            raise RuntimeError(f"{len(refused)} refused, e.g. {refused[0]!r}")
    for month in range(1, 13):
        period = f"{YEAR}-{month:02d}"
        bill = system.contributions.generate_bill(PROGRAM, GenerateBill(period=period), FINANCE)
        system.contributions.record_payment(PROGRAM, period, RecordPayment(
            payment_ref=f"SP2D/{PROGRAM}/{period}", paid_on=date(YEAR, month, 10),
            amount_idr=bill.billed_idr), FINANCE)
    system.projections.catch_up()


def _import_regency(system, tmp: Path, number: int, rows: int) -> None:
    """One generated regency's candidate list and registry extract, imported as
    ``ledger import candidates --registry`` does."""
    region_code = f"73{number % 99 + 1:02d}"  # Sulawesi Selatan's regency codes
    program_id = f"bench-import-{number}"
    candidates, registry = tmp / f"{program_id}.csv", tmp / f"{program_id}-registry.csv"
    generate_candidates(candidates, registry, count=rows, seed=number, region_code=region_code)
    system.ledger.open_program(OpenProgram(
        program_id=program_id, region_code=region_code, region_name=f"Kab. {region_code}",
        fiscal_year=YEAR, agreement_ref=f"PKS/{region_code}/BENCH", quota_total=rows,
        budget_idr={"APBD": rows * contributions.TARIFF_IDR * 12},
        coverage_start=date(YEAR, 1, 1), coverage_end=date(YEAR, 12, 31)), CLERK)
    import_candidates(system, program_id, candidates, CLERK, registry=load_registry(registry),
                      rejections_path=tmp / f"{program_id}-rejections.csv")


# Measurements


def _raw_read(url: str) -> dict:
    started = time.perf_counter()
    events = 0
    with psycopg.connect(url) as conn, conn.cursor(name="raw_read", binary=True) as cursor:
        cursor.itersize = 10_000
        cursor.execute("SELECT notification_id, originator_id, originator_version, topic, "
                       "state FROM stored_events ORDER BY notification_id")
        for _ in cursor:
            events += 1
    return _rate(events, time.perf_counter() - started)


def _audit_verify(settings: Settings) -> dict:
    from ledger.audit import verify

    with open_system(settings) as system:
        started = time.perf_counter()
        verdict = verify(system.storage.db)
        seconds = time.perf_counter() - started
    if not verdict.ok:
        raise RuntimeError(f"the chain does not verify: {verdict}")
    return _rate(verdict.events, seconds)


def _rebuild(settings: Settings) -> dict:
    """The rebuild's rate, and the CPU it took (its own process, its lanes' and a local server's)
    beside what two cores give in the time the target allows."""
    with open_system(settings) as system:
        started, cpu_started, server_started = time.perf_counter(), _cpu_s(), server_cpu_s()
        lanes_started = _cpu_s(resource.RUSAGE_CHILDREN)
        replayed = system.projections.rebuild()
        seconds = time.perf_counter() - started
        cpu, server_ended = _cpu_s() - cpu_started, server_cpu_s()
        lanes_cpu = _cpu_s(resource.RUSAGE_CHILDREN) - lanes_started
        lag = system.projections.lag()
    return {**_rate(replayed, seconds), "lag_after": lag, "process_cpu_s": round(cpu, 1),
            "lanes_cpu_s": round(lanes_cpu, 1),
            "postgresql_cpu_s": (None if server_started is None
                                 else round(server_ended - server_started, 1)),
            "cpu_s_two_cores_give_at_the_target": round(
                2 * replayed / TARGETS["rebuild_events_per_s"], 1)}


def _cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    """CPU seconds of this process, or (``RUSAGE_CHILDREN``) of its ended children: a
    rebuild's lanes on PostgreSQL."""
    used = resource.getrusage(who)
    return used.ru_utime + used.ru_stime


def _as_of_budget(settings: Settings, full_replay: bool, program_events: int) -> dict:
    """The report as of the current month (the whole log), from the program's checkpoint
    kept the day before (after December's bill, so that the payment's events and all the
    later imports follow it: the target's figure); the same from one kept a month before
    (after November's payment: December's bill and payment follow); asked again at the
    position of a checkpoint; and with no checkpoint, replaying the program's streams from
    the log's start. Then as of a past position (after June's payment), from the start;
    beside them the live report and, with ``full_replay``, the whole log replayed into
    every projection, as the as-of was done before."""
    from projections import as_of
    from projections.as_of import keep_checkpoint, replayed
    from projections.report_files import budget_report

    as_of.KEEP_AFTER_S = math.inf  # checkpoints only where this says, outside the timings
    month = periods.of(utc_now().date())
    june = program_events - 3 * 6  # each month a bill, a payment and its reference
    december_bill, november = program_events - 2, program_events - 3

    def asked():
        return budget_report(system, PROGRAM, as_of=month)

    def asked_after_keeping(position: int):
        """The median of ``ASKED`` times asking (each alike: the checkpoint is not changed
        by a question), after the one kept at ``position``."""
        _forget_checkpoints(system)
        keep_checkpoint(system, PROGRAM, position)
        times = [_timed(asked) for _ in range(ASKED)]
        return times[0][0], statistics.median(seconds for _, seconds in times), [
            round(seconds, 2) for _, seconds in times]

    with open_system(settings) as system:
        if not isinstance(system.store.read_log(december_bill - 1, 1)[0].event, BillIssued):
            raise RuntimeError(f"position {december_bill} is not December's bill")
        _forget_checkpoints(system)
        cold, cold_seconds = _timed(asked)
        _, keep_seconds = _timed(lambda: keep_checkpoint(system, PROGRAM, cold.position))
        _, again_seconds, again_runs = asked_after_keeping(cold.position)
        report, seconds, runs = asked_after_keeping(december_bill)
        checkpoint_mb = _checkpoint_mb(system)
        monthly, month_seconds, month_runs = asked_after_keeping(november)
        past, past_seconds = _timed(lambda: budget_report(system, PROGRAM, position=june))
        live, live_seconds = _timed(lambda: budget_report(system, PROGRAM))
        figures = {"seconds": round(seconds, 2), "as_of": month, "position": report.position,
                   "checkpoint_before_s": {
                       "the day's payment": {"median": round(seconds, 2), "runs": runs},
                       "the month's bill and payment": {"median": round(month_seconds, 2),
                                                        "runs": month_runs},
                       "nothing (asked again)": {"median": round(again_seconds, 2),
                                                 "runs": again_runs}},
                   "no_checkpoint_s": round(cold_seconds, 2),
                   "checkpoint_kept_s": round(keep_seconds, 2), "checkpoint_mb": checkpoint_mb,
                   "past_position_s": round(past_seconds, 2), "past_position": june,
                   "live_read_models_s": round(live_seconds, 3),
                   "billed_idr": report.budget.billed_idr}
        if not cold.budget == report.budget == monthly.budget:
            raise RuntimeError("an as-of from a checkpoint differs from one from the start")
        if full_replay:
            def whole_log():
                with replayed(system.store, read_models(system.keyring),
                              report.position) as db, db.snapshot() as tx:
                    return budget_summary(tx, PROGRAM, report.as_of)
            whole, whole_seconds = _timed(whole_log)
            if whole != report.budget:
                raise RuntimeError("the program's streams replayed differ from the whole log")
            figures |= {"whole_log_replay_s": round(whole_seconds, 2),
                        "whole_log_over_scoped": round(whole_seconds / cold_seconds, 1)}
    recorded = ("billed_idr", "paid_idr", "enrolled", "months")  # not the day's own figures
    if any(getattr(report.budget, name) != getattr(live.budget, name) for name in recorded):
        raise RuntimeError("the budget replayed to the head differs from the live one")
    if [m.period for m in past.budget.months if m.paid_idr] != periods.span(f"{YEAR}-01", 6):
        raise RuntimeError(f"position {june} is not the log after June's payment")
    return {**figures, "peak_rss_mb": peak_rss_mb()}


ASKED = 5
"""Times the as-of from a checkpoint is asked, for its median: single runs varied by half."""


def _forget_checkpoints(system) -> None:
    with system.storage.db.transaction() as tx:
        tx.execute("DELETE FROM as_of_checkpoints")


def _checkpoint_mb(system) -> float:
    with system.storage.db.snapshot() as tx:
        row = tx.fetchone("SELECT SUM(LENGTH(body)) AS size FROM as_of_checkpoints")
    return round((row["size"] or 0) / 2**20, 1)


def _as_of_breakdown(settings: Settings) -> dict:
    """Where the as-of budget's time goes: the same report, its parts timed by wrapping
    the store's reads and each projection's ``apply`` (timed apart from ``_as_of_budget``,
    so that the wrapping does not weigh on its figure)."""
    from projections import report_files

    spent: dict[str, float] = defaultdict(float)

    def timing(name: str, function):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started
        return timed

    for projection in (ProgramsProjection, ParticipantsProjection, ContributionsProjection):
        projection.apply = timing(f"apply_{projection.name}_s", projection.apply)
    report_files.program_scope = timing("list_streams_s", report_files.program_scope)
    events = []
    with open_system(settings) as system:
        _forget_checkpoints(system)  # the replay from the log's start is what is broken down
        store = system.store
        store.positions_of = timing("find_positions_s", store.positions_of)
        read_positions = timing("read_and_decode_s", store.read_positions)

        def counted(positions, *args, **kwargs):
            events.append(len(positions))
            return read_positions(positions, *args, **kwargs)
        store.read_positions = counted
        _, seconds = _timed(lambda: report_files.budget_report(
            system, PROGRAM, as_of=periods.of(utc_now().date())))
    parts = {name: round(value, 2) for name, value in sorted(spent.items())}
    return {"seconds": round(seconds, 2), "events_replayed": sum(events), **parts,
            "other_s": round(seconds - sum(spent.values()), 2), "peak_rss_mb": peak_rss_mb()}


def _timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def _rate(events: int, seconds: float) -> dict:
    return {"events": events, "seconds": round(seconds, 2),
            "events_per_s": round(events / seconds), "peak_rss_mb": peak_rss_mb()}


if __name__ == "__main__":
    sys.exit(main())
