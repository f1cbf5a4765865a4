"""What every benchmark here shares: a throwaway PostgreSQL database, a fresh child
process per measurement (so peak RSS is its own), the server option, and the CPU time
a local PostgreSQL server spent."""

import argparse
import multiprocessing
import os
import re
import resource
import time
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg

from ledger.cli import log_to_stderr

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def add_keep_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--keep NAME``: a set-up kept in a database named after NAME for later runs."""
    parser.add_argument("--keep", metavar="NAME", type=_keep_name,
                        help=f"{help_text} (NAME: 1 to 30 lower-case letters, digits or _)")


def _keep_name(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]{1,30}", text):
        raise argparse.ArgumentTypeError("takes 1 to 30 lower-case letters, digits or _")
    return text


def add_server_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=os.environ.get(
        "LEDGER_BENCH_DATABASE_URL", DEFAULT_SERVER),
        help="a PostgreSQL server where scratch databases may be created and dropped")


@contextmanager
def scratch_database(server_url: str, template: str | None = None):
    """A database dropped after use: empty, or a copy of ``template`` (a kept one), so
    that a measurement which writes leaves the kept set-up as it was. ``FILE_COPY``
    copies the files rather than writing every page to the WAL: minutes saved on a log
    of ten million events."""
    name = f"ledger_bench_{uuid.uuid4().hex[:10]}"
    copied = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}{copied}")
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path="/" + name))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@contextmanager
def kept_database(server_url: str, name: str):
    """A database kept between runs (``ledger_bench_keep_NAME``), created when missing;
    yields its URL and whether it was just created (so that set-up is still to do)."""
    database = f"ledger_bench_keep_{name}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                             (database,)).fetchone()
        if found is None:
            conn.execute(f"CREATE DATABASE {database}")
    yield urlunsplit(urlsplit(server_url)._replace(path="/" + database)), found is None


def in_child(target, *args):
    """Run ``target`` in a fresh process so its peak RSS is its own. Not a pool's worker:
    those are daemons, which may not start processes (a rebuild's lanes)."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.SimpleQueue()
    child = ctx.Process(target=_logging_to_stderr, args=(results, target, *args))
    child.start()
    child.join()
    if results.empty():
        raise RuntimeError(f"{target.__name__} ended without a result (exit code "
                           f"{child.exitcode})")
    failed, value = results.get()
    if failed:
        raise value
    return value


def _logging_to_stderr(results, target, *args):
    """``target`` with log lines on stderr: stdout is the benchmark's JSON."""
    log_to_stderr()
    try:
        results.put((False, target(*args)))
    except BaseException as error:
        results.put((True, error))
        raise


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def server_cpu_s() -> float | None:
    """CPU seconds the PostgreSQL server on this machine has used so far: every ``postgres``
    process's own, and its reaped children's (the postmaster's count holds the backends
    that have exited). None when no server runs here (a remote ``--database-url``). The
    difference over a measurement is the server's share of it, on a machine doing nothing
    else."""
    tick, total, found = os.sysconf("SC_CLK_TCK"), 0, False
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                name, _, rest = stat.read().partition(" (")[2].partition(") ")
        except OSError:  # it exited meanwhile
            continue
        if name == "postgres":
            fields = rest.split()
            total, found = total + sum(int(f) for f in fields[11:15]), True
    return round(total / tick, 2) if found else None


def python_loop_cpu_s() -> float:
    """CPU seconds a fixed pure-Python loop (20 million additions) takes here now: on
    this shared machine such a loop took 1.8 times as long at one session's end as at
    its start, so a benchmark's figures are read beside it."""
    started, total = time.process_time(), 0
    for number in range(20_000_000):
        total += number
    return round(time.process_time() - started, 2)
