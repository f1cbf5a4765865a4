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
- ``rebuild``: ``ledger projections rebuild`` of every projection;
- ``as_of_budget``: ``ledger report budget --as-of MONTH`` of the 35,000-member
  program (``report_files.budget_report``), MONTH the current one, so the whole log
  is replayed; beside it the same report from the live read models.

    python bench/audit.py [--events 1000000] [--participants 35000] [--database-url URL]

Prints one JSON object.
"""

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import psycopg

import contributions
from ledger import periods
from ledger.bill import GenerateBill, RecordPayment
from ledger.demo_data import generate_candidates
from ledger.importer import import_candidates
from ledger.participant import Enroll
from ledger.program import OpenProgram
from ledger.registry import InMemoryRegistry
from ledger.registry_files import load_registry
from ledger.service import Actor, utc_now
from ledger.settings import Settings
from ledger.system import open_system
from scratch import add_server_option, in_child, peak_rss_mb, scratch_database

TARGETS = {"audit_verify_events_per_s": 100_000, "rebuild_events_per_s": 50_000,
           "as_of_budget_s": 2.0}
CLERK, FINANCE = Actor("bench", "enrollment_clerk"), Actor("bench", "finance_officer")
PROGRAM, YEAR = "bench-7371-2024", 2024
BATCH = 5_000
IMPORT_ROWS = 35_000
"""Rows per imported candidate list: one Makassar-sized regency each."""
EVENTS_PER_ROW = 1.46
"""Events a generated row appends on average (about 27% are refused), to size the last list."""


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as data_dir, \
            scratch_database(args.database_url) as url:
        settings = Settings(database_url=url, data_dir=Path(data_dir))  # one keyring for all
        setup = in_child(_set_up, settings, args.participants, args.events)
        events = setup["events_in_log"]
        figures = {
            "benchmark": "audit", "events": events, "participants": args.participants,
            "raw_read": in_child(_raw_read, url),
            "audit_verify": in_child(_audit_verify, settings),
            "rebuild": in_child(_rebuild, settings),
            "as_of_budget": in_child(_as_of_budget, settings),
            "setup": setup,
        }
    figures["targets"] = TARGETS
    figures["met"] = {
        "audit_verify_events_per_s": figures["audit_verify"]["events_per_s"]
        >= TARGETS["audit_verify_events_per_s"],
        "rebuild_events_per_s": figures["rebuild"]["events_per_s"]
        >= TARGETS["rebuild_events_per_s"],
        "as_of_budget_s": figures["as_of_budget"]["seconds"] < TARGETS["as_of_budget_s"],
    }
    print(json.dumps(figures, indent=2))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="events in the log, the program's own (~4 a member) first")
    parser.add_argument("--participants", type=int, default=35_000,
                        help="members of the program whose budget is reported as of")
    add_server_option(parser)
    return parser.parse_args(argv)


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
    with open_system(settings) as system:
        started = time.perf_counter()
        replayed = system.projections.rebuild()
        seconds = time.perf_counter() - started
        lag = system.projections.lag()
    return {**_rate(replayed, seconds), "lag_after": lag}


def _as_of_budget(settings: Settings) -> dict:
    from projections.report_files import budget_report

    month = periods.of(utc_now().date())
    with open_system(settings) as system:
        started = time.perf_counter()
        report = budget_report(system, PROGRAM, as_of=month)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        live = budget_report(system, PROGRAM)
        live_seconds = time.perf_counter() - started
    recorded = ("billed_idr", "paid_idr", "enrolled", "months")  # not the day's own figures
    if any(getattr(report.budget, name) != getattr(live.budget, name) for name in recorded):
        raise RuntimeError("the budget replayed to the head differs from the live one")
    return {"seconds": round(seconds, 2), "as_of": month, "position": report.position,
            "live_read_models_s": round(live_seconds, 3),
            "billed_idr": report.budget.billed_idr, "peak_rss_mb": peak_rss_mb()}


def _rate(events: int, seconds: float) -> dict:
    return {"events": events, "seconds": round(seconds, 2),
            "events_per_s": round(events / seconds), "peak_rss_mb": peak_rss_mb()}


if __name__ == "__main__":
    sys.exit(main())
