"""Contributions benchmark: a month's bill and payment, the budget and the findings, on PostgreSQL.

Set-up (not measured): in a scratch database, ``--programs`` programs of
``--participants`` people each (Makassar-sized: 35,000), every one submitted,
verified and enrolled from January through the service's batch paths
(``Ledger.submit_batch`` with an ``InMemoryRegistry``, ``enroll_batch``), and
bills generated and paid for every month but the last through the normal
service calls, with what a real year brings: one month paid late inside the
arrears window, a month paid short (members left unpaid), deaths reported after
their months were paid, and a supplementary imported bill that pays some people
twice. So the last month of each program finds 12 months' bills (420,000
participant-months at 35,000 people) already in the read models.

Measured, end to end, for the last month of every program in turn:
``Contributions.generate_bill`` (which catches the projections up and reads the
roster), ``record_payment`` of the whole bill, and the projections caught up
after it. Then ``budget_summary`` and ``findings`` of every program from the
read models, ``--runs`` times each (median and worst reported).

    python bench/contributions.py [--participants 35000] [--programs 1] [--months 12]
                                  [--runs 7] [--keep NAME] [--database-url URL]

Prints one JSON object. Set-up and measurement run in two fresh child processes,
so the reported peak RSS is the measuring process's own; both open the ledger with
the same personal-data keys (a ledger refuses keys other than its data's).

``--keep NAME`` keeps the set-up (ten programs take a long while) in the database
``ledger_bench_keep_contrib_NAME`` and its keys in a file beside it in the temporary
directory; a later run with the same name and sizes reuses them. Every measurement
runs on a fresh copy of that database (``CREATE DATABASE ... TEMPLATE``), so it
starts from the same state each time.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from ledger.bill import GenerateBill, ImportBill, ImportedLine, RecordPayment
from ledger.participant import CandidateData, Enroll, Terminate
from ledger.personal_data import new_key_file_content, write_key_file
from ledger.program import OpenProgram
from ledger.registry import InMemoryRegistry
from ledger.service import Actor
from ledger.settings import Settings
from ledger.system import open_system
from ledger.verification import RegistryRecord
from projections.budget import budget_summary
from projections.findings import findings
from scratch import (
    add_keep_option,
    add_server_option,
    in_child,
    kept_database,
    peak_rss_mb,
    scratch_database,
)

REGIONS = (("7371", "Kota Makassar"), ("7174", "Kota Kotamobagu"), ("7571", "Kota Gorontalo"),
           ("3375", "Kota Pekalongan"), ("7109", "Kab. Minahasa Tenggara"),
           ("3578", "Kota Surabaya"), ("1271", "Kota Medan"), ("5171", "Kota Denpasar"),
           ("3273", "Kota Bandung"), ("6471", "Kota Balikpapan"), ("7271", "Kota Palu"),
           ("3171", "Kota Jakarta Selatan"))
YEAR = 2024
TARIFF_IDR = 16_800
BATCH = 5_000
TARGETS = {"bill_and_payment_s": 2.0, "budget_summary_ms": 100.0, "findings_ms": 100.0}
AS_OF = date(YEAR, 12, 31)
ACTOR = Actor("bench", "finance_officer")


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    if args.programs > len(REGIONS):
        raise SystemExit(f"at most {len(REGIONS)} programs")
    if args.keep is None:
        keys = json.dumps(new_key_file_content())
        with scratch_database(args.database_url) as url:
            setup = in_child(_set_up, url, keys, args.participants, args.programs,
                             args.months)
            measured = in_child(_measure, url, keys, args.programs, args.months, args.runs)
    else:
        setup, measured = _kept_run(args)
    figures = {
        "benchmark": "contributions",
        "participants_per_program": args.participants,
        "programs": args.programs,
        "months": args.months,
        "participant_months_per_program": args.participants * args.months,
        **measured,
        "setup": setup,
    }
    figures["targets"] = TARGETS
    figures["met"] = {
        "bill_and_payment_s": measured["bill_and_payment_s"]["max"]
        < TARGETS["bill_and_payment_s"],
        "budget_summary_ms": measured["budget_summary_ms"]["median"]
        < TARGETS["budget_summary_ms"],
        "findings_ms": measured["findings_ms"]["median"] < TARGETS["findings_ms"],
    }
    print(json.dumps(figures, indent=2))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=35_000)
    parser.add_argument("--programs", type=int, default=1)
    parser.add_argument("--months", type=int, default=12, choices=range(6, 13),
                        metavar="6..12", help="months billed, from January; the last is measured")
    parser.add_argument("--runs", type=int, default=7,
                        help="runs of the budget summary and the findings per program")
    add_keep_option(parser, "keep the set-up for later runs: ten programs take a long while")
    add_server_option(parser)
    return parser.parse_args(argv)


def _kept_run(args: argparse.Namespace) -> tuple[dict, dict]:
    """Set up once into the kept database (unless it is there), measure on a copy."""
    key_file = Path(tempfile.gettempdir()) / f"ledger_bench_keep_contrib_{args.keep}.keys.json"
    sizes_file = key_file.with_suffix(".sizes.json")
    sizes = {"participants": args.participants, "programs": args.programs,
             "months": args.months}
    with kept_database(args.database_url, f"contrib_{args.keep}") as (url, created):
        kept = urlsplit(url).path.lstrip("/")
        if created:
            write_key_file(key_file, new_key_file_content())
        elif (not key_file.exists() or not sizes_file.exists()
              or json.loads(sizes_file.read_text()) != sizes):
            raise SystemExit(f"database {kept} was kept with other sizes or without its "
                             f"keys: drop it (DROP DATABASE {kept}) or pick another name")
        keys = key_file.read_text()
        if created:
            setup = in_child(_set_up, url, keys, args.participants, args.programs,
                             args.months)
            sizes_file.write_text(json.dumps(sizes))
        else:
            setup = {"kept": kept}
    with scratch_database(args.database_url, template=kept) as copy:
        measured = in_child(_measure, copy, keys, args.programs, args.months, args.runs)
    return setup, measured


@contextmanager
def _system(url: str, keys: str):

    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as data_dir, \
            open_system(Settings(database_url=url, data_dir=Path(data_dir),
                                 keys_json=keys)) as system:
        yield system


def program_id(number: int) -> str:
    return f"bench-{REGIONS[number][0]}-{YEAR}"


def period(month: int) -> str:
    return f"{YEAR}-{month:02d}"


# Set-up


def _set_up(url: str, keys: str, participants: int, programs: int, months: int) -> dict:
    started = time.perf_counter()
    with _system(url, keys) as system:
        for number in range(programs):
            _enroll_program(system, number, participants)
            for month in range(1, months):
                _bill_month(system, number, month, participants)
            system.projections.catch_up()
        events = system.store.head()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # what autovacuum would have done in a year of this
    return {"seconds": round(time.perf_counter() - started, 1), "events_in_log": events,
            "peak_rss_mb": peak_rss_mb()}


def people(region_code: str, count: int):
    """Deterministic, distinct, valid people of one region: birth dates over 38 years,
    serials past that, women with 40 added to the NIK's day."""

    days = 38 * 365
    for n in range(count):
        born = date(1965, 1, 1) + timedelta(days=n % days)
        sex = "P" if n % 2 else "L"
        day = born.day + 40 if sex == "P" else born.day
        nik = (f"{region_code}{1 + n % 9:02d}{day:02d}{born.month:02d}{born.year % 100:02d}"
               f"{1 + n // days:04d}")
        name, mother = f"Peserta {region_code} {n}", f"Ibu {n}"
        yield (CandidateData(nik=nik, full_name=name, birth_date=born, sex=sex,
                             mother_name=mother, address=f"Jl. Bench {n}",
                             village=f"Kelurahan {n % 40}", occupation="pedagang kaki lima",
                             cohort="informal", submitted_by="bench"),
               RegistryRecord(nik=nik, full_name=name, birth_date=born, sex=sex,
                              mother_name=mother))


def _enroll_program(system, number: int, count: int) -> None:

    region_code, region_name = REGIONS[number]
    pid = program_id(number)
    system.ledger.open_program(OpenProgram(
        program_id=pid, region_code=region_code, region_name=region_name, fiscal_year=YEAR,
        agreement_ref=f"PKS/{region_code}/BENCH", quota_total=count,
        budget_idr={"APBD": count * TARIFF_IDR * 12}, coverage_start=date(YEAR, 1, 1),
        coverage_end=date(YEAR, 12, 31)), ACTOR)
    rows = list(people(region_code, count))
    registry = InMemoryRegistry("dukcapil:bench", [record for _, record in rows])
    for start in range(0, count, BATCH):
        batch = [data for data, _ in rows[start:start + BATCH]]
        results = system.ledger.submit_batch(pid, batch, ACTOR, registry=registry)
        _all_done(results, "submit")
        results = system.ledger.enroll_batch(pid, [
            (r.participant_id, Enroll(kpj=f"{number:02d}{start + i:09d}",
                                      coverage_start=date(YEAR, 1, 1), batch="tahap-1"))
            for i, r in enumerate(results)], ACTOR)
        _all_done(results, "enroll")
        system.projections.catch_up()


def _all_done(results, what: str) -> None:
    refused = [r.error for r in results if r.error is not None]
    if refused:
        raise RuntimeError(f"{what}: {len(refused)} refused, e.g. {refused[0]!r}")


def _bill_month(system, number: int, month: int, count: int) -> None:
    """One month as a year brings it: March paid late (inside the arrears window), August
    paid short, deaths in April reported after May was paid, a June supplement paid twice."""

    pid, bill_id = program_id(number), period(month)
    bill = system.contributions.generate_bill(pid, GenerateBill(period=bill_id), ACTOR)
    amount = bill.billed_idr
    paid_on = date(YEAR, month, 10)
    if month == 3:
        paid_on = date(YEAR, 5, 20)
    if month == 8:
        amount -= TARIFF_IDR * max(1, count // 200)
    system.contributions.record_payment(pid, bill_id, RecordPayment(
        payment_ref=f"SP2D/{pid}/{bill_id}", paid_on=paid_on, amount_idr=amount), ACTOR)
    if month == 5:
        _deaths(system, pid, bill, max(1, count // 500))
    if month == 6:
        _supplement(system, pid, bill, max(1, count // 1000))


def _deaths(system, pid: str, bill, how_many: int) -> None:

    step = len(bill.issued.lines) // how_many
    for line in bill.issued.lines[::step][:how_many]:
        system.ledger.terminate(pid, uuid.UUID(line.participant_id), Terminate(
            reason="died", effective_date=date(YEAR, 4, 20), note="reported in June"), ACTOR)


def _supplement(system, pid: str, bill, how_many: int) -> None:

    lines = bill.issued.lines[1::max(1, len(bill.issued.lines) // how_many)][:how_many]
    rows = [ImportedLine(line_no=n, nik=line.nik, kpj=line.kpj, period=line.first_period,
                         amount_idr=line.amount_idr) for n, line in enumerate(lines, start=1)]
    supplement = system.contributions.import_bill(pid, ImportBill(
        bill_id=f"SUSULAN-{bill.issued.bill_id}", document_ref="tagihan susulan.csv"), rows,
        ACTOR)
    system.contributions.record_payment(pid, supplement.issued.bill_id, RecordPayment(
        payment_ref=f"SP2D/{pid}/susulan", paid_on=date(YEAR, 7, 2),
        amount_idr=supplement.billed_idr), ACTOR)


# Measurement


def _measure(url: str, keys: str, programs: int, months: int, runs: int) -> dict:

    bills, budgets, finds = [], [], []
    kinds: Counter[str] = Counter()
    with _system(url, keys) as system:
        system.projections.catch_up()
        for number in range(programs):
            pid, bill_id = program_id(number), period(months)
            # The Ledger folds a program's stream once per process (every quota seat is an
            # event on it) and keeps it: timed apart, as the first command of a fresh process
            # pays it and a running service does not.
            started = time.perf_counter()
            system.ledger.program(pid)
            program_fold = time.perf_counter() - started
            started, cpu_started = time.perf_counter(), time.process_time()
            bill = system.contributions.generate_bill(pid, GenerateBill(period=bill_id), ACTOR)
            generated = time.perf_counter()
            system.contributions.record_payment(pid, bill_id, RecordPayment(
                payment_ref=f"SP2D/{pid}/{bill_id}", paid_on=date(YEAR, months, 10),
                amount_idr=bill.billed_idr), ACTOR)
            paid = time.perf_counter()
            system.projections.catch_up()
            done, cpu_done = time.perf_counter(), time.process_time()
            bills.append({"program_id": pid, "lines": len(bill.issued.lines),
                          "generate_bill_s": round(generated - started, 3),
                          "record_payment_s": round(paid - generated, 3),
                          "catch_up_s": round(done - paid, 3),
                          "total_s": round(done - started, 3),
                          # This process's own CPU in the total (PostgreSQL's is not in
                          # it): what a machine shared with other work inflates least.
                          "total_process_cpu_s": round(cpu_done - cpu_started, 3),
                          "program_fold_in_fresh_process_s": round(program_fold, 3),
                          "total_in_fresh_process_s": round(done - started + program_fold, 3)})
        for number in range(programs):
            pid = program_id(number)
            for _ in range(runs):
                budgets.append(_timed_ms(system, budget_summary, pid))
                ms, found = _timed_ms(system, findings, pid, result=True)
                finds.append(ms)
            kinds.update(f.kind for f in found)
            summary = _read(system, budget_summary, pid)
            if summary.paid_idr <= 0 or summary.billed_idr <= 0:
                raise RuntimeError(f"{pid}: nothing billed or paid in the budget summary")
    totals = [b["total_s"] for b in bills]
    fresh = [b["total_in_fresh_process_s"] for b in bills]
    return {
        "bill_and_payment_s": {"median": round(statistics.median(totals), 3),
                               "max": max(totals),
                               "median_in_fresh_process": round(statistics.median(fresh), 3),
                               "max_in_fresh_process": max(fresh), "per_program": bills},
        "budget_summary_ms": _stats(budgets),
        "findings_ms": _stats(finds),
        "findings_by_kind": dict(sorted(kinds.items())),
        "peak_rss_mb": peak_rss_mb(),
    }


def _read(system, query, pid: str):
    with system.storage.db.snapshot() as tx:
        return query(tx, pid, AS_OF)


def _timed_ms(system, query, pid: str, *, result: bool = False):
    started = time.perf_counter()
    found = _read(system, query, pid)
    ms = round((time.perf_counter() - started) * 1000, 2)
    return (ms, found) if result else ms


def _stats(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "max": max(values),
            "runs": len(values)}


if __name__ == "__main__":
    sys.exit(main())
