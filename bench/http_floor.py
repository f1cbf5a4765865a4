"""The HTTP floor on this machine: how fast the least an event-sourced command does can go.

``bench/http_load.py`` measures the ledger; this measures what no ledger on this
stack and machine can beat, so issue 6's targets (1,000 commands/s with p99 under
50 ms; reads p99 under 10 ms) can be judged against what the machine allows. The
same server stack as ``ledger serve`` (Litestar on uvicorn, sync handlers in the
thread pool, a psycopg pool of ``--pool-size``), ``--api-processes`` processes, and
the same kind of load generator as ``http_load.py`` (``--clients`` threads with a
keep-alive connection each, ``--duration`` seconds after ``--warmup``), against an
app that keeps no ledger at all:

- ``append`` (four in five requests): a msgspec body decoded, then in one
  transaction the stream's last version read and one row inserted at the next
  version (the unique key refusing a second writer): the least an event-sourced
  command does, without a domain, a hash chain, sealing, an idempotency record or a
  projection;
- ``read`` (one in five): one stream's rows selected and returned as JSON.

Each is run twice: ``unordered``, appends free to commit in any order, and
``ordered``, each append first taking the writers' lock the ledger's recorder takes
(``ledger/postgres_recorder.py``: a transaction-scoped advisory lock, so that log
positions are committed in order and a reader never sees position 2 before 1),
which every event-sourced append with a gap-free global order pays. Beside them, in
the same run, the same operations in one process with as many threads and no HTTP,
so the HTTP stack's own share shows as a ratio.

    python bench/http_floor.py [--clients 16] [--api-processes 2] [--duration 20]
                               [--warmup 3] [--pool-size 10] [--database-url URL]

Prints one JSON object.
"""

import argparse
import http.client
import json
import random
import subprocess
import sys
import time
from uuid import UUID, uuid4

import msgspec
import psycopg
from psycopg_pool import ConnectionPool

from http_load import _cpu_s, _latency, _stop, _wait_healthy, in_threads
from scratch import add_server_option, in_child, scratch_database

STREAMS = 5_000
"""Streams the clients write to at random: contention as rare as between officers."""
READ_SHARE = 0.2
MODES = ("unordered", "ordered")
TABLE = """CREATE TABLE floor_events (
    position bigserial PRIMARY KEY, stream_id uuid NOT NULL, version integer NOT NULL,
    payload bytea NOT NULL, UNIQUE (stream_id, version))"""
WRITERS_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('floor_events', 0))"
APPEND = ("INSERT INTO floor_events (stream_id, version, payload) "
          "SELECT %(stream)s, COALESCE(MAX(version), 0) + 1, %(payload)s "
          "FROM floor_events WHERE stream_id = %(stream)s RETURNING position, version")
READ = "SELECT version, payload FROM floor_events WHERE stream_id = %(stream)s ORDER BY version"


class Append(msgspec.Struct, frozen=True):
    actor_id: str
    payload: str


class Appended(msgspec.Struct, frozen=True):
    position: int
    version: int


class Row(msgspec.Struct, frozen=True):
    version: int
    payload: str


def append(pool: ConnectionPool, stream: UUID, body: Append, ordered: bool
           ) -> Appended | None:
    """The row appended, or None when another writer took the version (as a ledger
    answers 409 to the loser of a race on one stream)."""
    try:
        with pool.connection() as conn:  # one transaction, committed on leaving
            if ordered:
                conn.execute(WRITERS_LOCK)
            position, version = conn.execute(
                APPEND, {"stream": stream, "payload": body.payload.encode()}).fetchone()
    except psycopg.errors.UniqueViolation:
        return None
    return Appended(position, version)


def read(pool: ConnectionPool, stream: UUID) -> list[Row]:
    with pool.connection() as conn:
        rows = conn.execute(READ, {"stream": stream}).fetchall()
    return [Row(version, bytes(payload).decode()) for version, payload in rows]


def create_floor_app(url: str, pool_size: int):
    """The floor's Litestar app: the two operations, nothing else."""
    from litestar import Litestar, get, post
    from litestar.exceptions import HTTPException

    pool = ConnectionPool(url, min_size=pool_size, max_size=pool_size, open=False)

    def answer(appended: Appended | None) -> Appended:
        if appended is None:
            raise HTTPException(status_code=409, detail="the stream moved; retry")
        return appended

    @post("/unordered/{stream_id:uuid}/events", sync_to_thread=True)
    def append_unordered(stream_id: UUID, data: Append) -> Appended:
        return answer(append(pool, stream_id, data, ordered=False))

    @post("/ordered/{stream_id:uuid}/events", sync_to_thread=True)
    def append_ordered(stream_id: UUID, data: Append) -> Appended:
        return answer(append(pool, stream_id, data, ordered=True))

    @get("/streams/{stream_id:uuid}/events", sync_to_thread=True)
    def read_route(stream_id: UUID) -> list[Row]:
        return read(pool, stream_id)

    @get("/health", sync_to_thread=False)
    def health() -> str:
        return "ok"

    # Litestar passes the app to a hook that takes arguments: the pool's would take it
    # for their own first parameter.
    return Litestar([append_unordered, append_ordered, read_route, health],
                    on_startup=[lambda: pool.open()], on_shutdown=[lambda: pool.close()],
                    openapi_config=None)


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    if args.serve_port:  # a server process this benchmark started
        import uvicorn
        uvicorn.run(create_floor_app(args.serve_url, args.pool_size), host="127.0.0.1",
                    port=args.serve_port, access_log=False, log_level="warning")
        return
    with scratch_database(args.database_url) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(TABLE)
        streams = [uuid4() for _ in range(STREAMS)]
        figures = {"benchmark": "http_floor", "clients": args.clients,
                   "api_processes": args.api_processes, "duration_s": args.duration}
        for mode in MODES:
            figures[mode] = {"http": _http_phase(args, url, streams, mode),
                             "in_process": in_child(_in_process_phase, url, streams, mode,
                                                    args.clients, args.duration, args.warmup,
                                                    args.pool_size)}
            figures[mode]["http_vs_in_process"] = round(
                figures[mode]["http"]["requests"]["per_s"]
                / figures[mode]["in_process"]["requests"]["per_s"], 2)
    print(json.dumps(figures, indent=2))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--api-processes", type=int, default=2)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--serve-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-url", help=argparse.SUPPRESS)
    add_server_option(parser)
    return parser.parse_args(argv)


def _run(clients: int, duration: float, warmup: float, streams: list[UUID], send) -> dict:
    """``send(client, kind, stream)`` from each client thread; latency of what falls
    between ``warmup`` and ``warmup + duration``."""
    start = time.perf_counter() + warmup
    end = start + duration
    samples: list[list[tuple[str, float]]] = [[] for _ in range(clients)]

    def client(number: int) -> None:
        chooser = random.Random(number)
        while (began := time.perf_counter()) < end:
            kind = "read" if chooser.random() < READ_SHARE else "append"
            send(number, kind, chooser.choice(streams))
            if began >= start:
                samples[number].append((kind, time.perf_counter() - began))

    in_threads(client, clients)
    every = [s for mine in samples for s in mine]
    return {"requests": _latency([took * 1000 for _, took in every], duration),
            "by_kind": {kind: _latency([took * 1000 for k, took in every if k == kind],
                                       duration) for kind in ("append", "read")}}


def _http_phase(args: argparse.Namespace, url: str, streams: list[UUID], mode: str) -> dict:
    ports = [8790 + n for n in range(args.api_processes)]
    servers = [subprocess.Popen([sys.executable, __file__, "--serve-port", str(port),
                                 "--serve-url", url, "--pool-size", str(args.pool_size)])
               for port in ports]
    try:
        for port in ports:
            _wait_healthy(port)
        connections = [http.client.HTTPConnection("127.0.0.1", ports[n % len(ports)],
                                                  timeout=60) for n in range(args.clients)]
        headers = {"Content-Type": "application/json"}
        body = msgspec.json.encode(Append("bench", "x" * 200))

        def send(client: int, kind: str, stream: UUID) -> None:
            if kind == "append":
                connections[client].request("POST", f"/{mode}/{stream}/events", body, headers)
            else:
                connections[client].request("GET", f"/streams/{stream}/events")
            response = connections[client].getresponse()
            response.read()
            if response.status >= 300 and response.status != 409:
                raise RuntimeError(f"{kind} answered {response.status}")

        cpu_before = _cpu_s()
        figures = _run(args.clients, args.duration, args.warmup, streams, send)
        figures["load_generator_cpu_s"] = round(_cpu_s() - cpu_before, 1)
    finally:
        figures_cpu = [_stop(server) for server in servers]
    figures["api_processes_cpu_s"] = [round(cpu, 1) for cpu in figures_cpu]
    return figures


def _in_process_phase(url: str, streams: list[UUID], mode: str, clients: int,
                      duration: float, warmup: float, pool_size: int) -> dict:
    with ConnectionPool(url, min_size=pool_size, max_size=pool_size) as pool:
        body = Append("bench", "x" * 200)

        def send(client: int, kind: str, stream: UUID) -> None:
            if kind == "append":
                append(pool, stream, body, ordered=mode == "ordered")
            else:
                read(pool, stream)

        return _run(clients, duration, warmup, streams, send)


if __name__ == "__main__":
    main()
