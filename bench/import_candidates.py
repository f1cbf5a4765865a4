"""Import benchmark: a generated Makassar-sized candidate file, end to end, on PostgreSQL.

End to end means: load the registry extract, parse and validate every row,
match it against the registry, append the events (submitted + verified), and
catch the projections up. Measured in the same run, on the same server, for a
ratio rather than a bare number: the eventsourcing library's plain batched
``Application.save()`` of the same number of two-event aggregates, and a raw
psycopg COPY of the same rows into a scratch table.

    python bench/import_candidates.py [--rows 35000] [--database-url URL] [--skip-baselines]
                                      [--no-worker]

By default a projection worker (``ledger projections run``) runs beside the
import, as in production, so projections follow the appends on the second
core; the import's own final catch-up takes whatever tail is left.

Prints one JSON object. Each measurement runs in a fresh database and, for the
import, a fresh child process, so peak RSS is the import's own. Beside the import's and
the worker's CPU, a local server's (``postgresql_cpu_s``), and the CPU seconds two cores
give in the time the target allows: the work fits the machine only when the three add up
to less.
"""

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from ledger.demo_data import generate_candidates
from scratch import add_server_option, in_child, peak_rss_mb, scratch_database, server_cpu_s

MAKASSAR = "7371"
TARGET_ROWS_PER_S = 25_000


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        candidates, registry = Path(tmp, "candidates.csv"), Path(tmp, "registry.csv")
        summary = generate_candidates(candidates, registry, count=args.rows, seed=args.seed,
                                      region_code=MAKASSAR)
        with scratch_database(args.database_url) as url:
            result = in_child(_import, url, candidates, registry, args.rows, not args.no_worker)
        figures = {"benchmark": "import_candidates", "rows": args.rows,
                   "file_rows": summary.candidate_rows, **result}
        if not args.skip_baselines:
            with scratch_database(args.database_url) as url:
                figures["library_save_events_per_s"] = _library_save_rate(url, args.rows)
            with scratch_database(args.database_url) as url:
                figures["raw_copy_rows_per_s"] = _raw_copy_rate(url, candidates)
            figures["rows_per_s_vs_library_rows_per_s"] = round(
                figures["rows_per_s"] / (figures["library_save_events_per_s"] / 2), 2)
            figures["rows_per_s_vs_raw_copy"] = round(
                figures["rows_per_s"] / figures["raw_copy_rows_per_s"], 3)
    print(json.dumps(figures, indent=2))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=35_000)
    parser.add_argument("--seed", type=int, default=2024)
    add_server_option(parser)
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--no-worker", action="store_true",
                        help="catch projections up in the importing process only")
    return parser.parse_args(argv)


@contextmanager
def projection_worker(url: str, data_dir: Path, enabled: bool):
    """``ledger projections run`` in its own process, for the length of the block; yields a
    dict that holds the worker's CPU seconds once it has stopped. It shares the import's
    data directory, so the personal-data keys the import sealed with."""
    usage: dict[str, float] = {}
    if not enabled:
        yield usage
        return
    env = {**os.environ, "LEDGER_DATABASE_URL": url, "LEDGER_DATA_DIR": str(data_dir)}
    with tempfile.TemporaryFile() as log:
        worker = subprocess.Popen([sys.executable, "-m", "ledger.cli", "projections", "run",
                                   "--idle-wait", "0.02"], env=env, stderr=log)
        try:
            yield usage
        finally:
            # Popen.poll() would reap the worker and lose its CPU figures: wait4 reaps it
            # instead, and a worker that stopped before it was told to is an error to show.
            ended, status, rusage = os.wait4(worker.pid, os.WNOHANG)
            if ended == 0:
                os.kill(worker.pid, signal.SIGTERM)
                _, status, rusage = os.wait4(worker.pid, 0)
            else:
                log.seek(0)
                raise WorkerDied(f"the projection worker stopped on its own (status {status}):\n"
                                 + log.read().decode(errors="replace"))
            usage["cpu_s"] = rusage.ru_utime + rusage.ru_stime


class WorkerDied(RuntimeError):
    """The projection worker exited before the import was over."""


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _import(url: str, candidates: Path, registry_path: Path, rows: int, worker: bool) -> dict:
    from ledger.importer import import_candidates
    from ledger.program import OpenProgram
    from ledger.registry_files import load_registry
    from ledger.service import Actor
    from ledger.settings import Settings
    from ledger.system import open_system

    actor = Actor("bench", "enrollment_clerk")
    data_dir = Path(tempfile.mkdtemp())
    with open_system(Settings(database_url=url, data_dir=data_dir)) as system:
        system.ledger.open_program(OpenProgram(
            program_id="makassar-2024", region_code=MAKASSAR, region_name="Kota Makassar",
            fiscal_year=2024, agreement_ref="PKS/BENCH", quota_total=35_782,
            budget_idr={"APBD": 35_782 * 16_800 * 12}, coverage_start=date(2024, 1, 1),
            coverage_end=date(2024, 12, 31)), actor)
        system.projections.catch_up()
        head_before = system.store.head()
        with projection_worker(url, data_dir, worker) as worker_usage:
            time.sleep(1.0 if worker else 0)  # let the worker start before the clock does
            started, cpu_started, server_started = time.perf_counter(), _cpu_s(), server_cpu_s()
            registry = load_registry(registry_path)
            report = import_candidates(system, "makassar-2024", candidates, actor,
                                       registry=registry, rejections_path=Path(
                                           tempfile.mkdtemp(), "rejections.csv"))
            system.projections.catch_up()
            seconds, import_cpu = time.perf_counter() - started, _cpu_s() - cpu_started
            server_cpu = None if server_started is None else server_cpu_s() - server_started
        events = system.store.head() - head_before
        lag = system.projections.lag()
    return {
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "events": events,
        "events_per_s": round(events / seconds),
        "accepted": report.accepted, "rejected": report.rejected,
        "matched": report.matched, "mismatched": report.mismatched,
        "projection_worker": worker,
        "import_process_cpu_s": round(import_cpu, 2),
        "worker_process_cpu_s": round(worker_usage.get("cpu_s", 0.0), 2),
        # The worker's CPU runs to its stop, a moment past the clock; PostgreSQL's is None
        # for a server elsewhere.
        "postgresql_cpu_s": None if server_cpu is None else round(server_cpu, 2),
        "cpu_s_two_cores_give_at_the_target": round(2 * rows / TARGET_ROWS_PER_S, 2),
        "projection_lag_after": lag,
        "peak_rss_mb": peak_rss_mb(),
    }


def _library_save_rate(url: str, rows: int, batch: int = 500) -> int:
    """The eventsourcing library as it comes: Application.save() of aggregates with two
    events each (created + one more), ``batch`` aggregates per save, on its own tables."""
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class Candidate(Aggregate):
        @event("Submitted")
        def __init__(self, nik: str, full_name: str) -> None:
            self.nik, self.full_name, self.outcome = nik, full_name, None

        @event("Verified")
        def verify(self, outcome: str) -> None:
            self.outcome = outcome

    parts = urlsplit(url)
    env = {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": parts.path[1:],
           "POSTGRES_HOST": parts.hostname or "127.0.0.1", "POSTGRES_PORT": str(parts.port or 5432),
           "POSTGRES_USER": parts.username or "postgres", "POSTGRES_PASSWORD": parts.password or "",
           "CREATE_TABLE": "y"}
    app = Application(env=env)
    started = time.perf_counter()
    for start in range(0, rows, batch):
        aggregates = []
        for n in range(start, min(start + batch, rows)):
            candidate = Candidate(nik=f"7371{n:012d}", full_name=f"Candidate {n}")
            candidate.verify("matched")
            aggregates.append(candidate)
        app.save(*aggregates)
    seconds = time.perf_counter() - started
    app.close()
    return round(rows * 2 / seconds)


def _raw_copy_rate(url: str, candidates: Path) -> int:
    """psycopg COPY of the candidate rows, as text, into a scratch table: the floor."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE scratch_candidates (nik text, full_name text, birth_date text, "
                     "sex text, mother_name text, address text, village text, occupation text, "
                     "cohort text, submitted_by text)")
        started = time.perf_counter()
        with candidates.open("rb") as source, conn.cursor().copy(
                "COPY scratch_candidates FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while chunk := source.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        seconds = time.perf_counter() - started
        (rows,) = conn.execute("SELECT count(*) FROM scratch_candidates").fetchone()
    return round(rows / seconds)


if __name__ == "__main__":
    sys.exit(main())
