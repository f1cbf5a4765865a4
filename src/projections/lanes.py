"""A rebuild on PostgreSQL, replayed in lanes side by side.

One session replaying the whole log uses little more than one core, which on a
two-core machine leaves the million events at about 27,000 a second. So the log is
split into lanes, each replaying its share into shadows of its own:

- a projection whose rows of a stream fold that stream's events alone (``by_stream``:
  the participants, whose cohort counts only add up) gets a lane per part of the
  streams, each writing a copy of its tables in a schema of its own
  (``<schema>_rebuild_p1`` ...): two writers filling one table wait on each other's
  pages, which cost a fifth more of PostgreSQL's work than separate tables;
- the other projections share one lane, in their order, in ``<schema>_rebuild``, where
  a view over the parts' copies shows each partitioned table whole: contributions reads
  the participants there. That lane applies no event before the lanes it reads from
  have committed past it, and waits for them only when they have not.

A lane reads only the types of event its projections apply and its part of the streams
(``EventStore.read_log_part``: a window of positions a statement, no snapshot held
between them, so that PostgreSQL prunes the row versions the replay leaves), applies an
event that rewrites many rows (``bulk_types``: a payment) in a transaction of its own for
the same reason, and writes through a session whose
``search_path`` puts its schema before the live one, so that the projections' own SQL
writes the shadows while every other connection goes on with the live tables. Lanes are
processes when the runner can open the ledger again in one (``reopen``), else threads.

The shadows are UNLOGGED tables (no WAL; a crash loses only the rebuild), made at the
start and dropped at the end; migration 0022 made the schemas and lets the service role
create tables there and nowhere else. A session advisory lock keeps one rebuild at a
time, and what a crashed one left is dropped by the next.
"""

import bisect
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.collector import collecting_less
from ledger.errors import RebuildUnderWay
from ledger.storage import Database, Session, Tx
from ledger.store import EventStore, Recorded
from projections.replay import (
    apply_batch,
    before_bulk,
    bulk_types,
    columns,
    event_types,
    key_columns,
    opened_fields,
)

if TYPE_CHECKING:
    from projections.runner import Projection

MAX_PARTS = 4
"""Parts a by-stream projection is split into at most: migration 0022 made a schema for
each. Every lane reads the whole log's index, so lanes beyond the cores cost more than
they give."""
WAIT_S = 0.002
"""How often a lane looks again at the lanes it waits for."""
_LOCK_KEY = "hashtextextended('ledger projections rebuild', 0)"
"""The advisory lock a rebuild holds while it runs, one per database."""

Tools = tuple[EventStore, Database, Sequence["Projection"]]
"""What a lane replays with: the log, the database and the projections."""
Reopen = Callable[[], AbstractContextManager[Tools]]
"""Opens the ledger's ``Tools`` in a lane's own process (picklable: passed to it)."""


@dataclass(frozen=True)
class Lane:
    projections: tuple[str, ...]
    """Names, in the order they apply a batch."""
    schema: str
    """Where its shadows are: first on its session's search_path."""
    part: tuple[int, int]
    """(index, count): the streams it replays."""
    waits_for: tuple[int, ...]
    """The lanes whose tables it reads: it never passes their progress."""


@dataclass(frozen=True)
class Plan:
    live: str
    shadow: str
    """The schema whose tables (and views over the parts) the swap copies from."""
    lanes: tuple[Lane, ...]


def parts() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_PARTS))


def plan_lanes(projections: Sequence["Projection"], live: str, count: int) -> Plan:
    shadow = f"{live}_rebuild"
    split = [p for p in projections if p.by_stream and not p.reads_from]
    rest = [p for p in projections if p not in split]
    lanes = [Lane(tuple(p.name for p in split), f"{shadow}_p{index + 1}", (index, count), ())
             for index in range(count)] if split else []
    if rest:
        reads = {name for p in rest for name in p.reads_from}
        waits = tuple(range(len(lanes))) if reads & {p.name for p in split} else ()
        lanes.append(Lane(tuple(p.name for p in rest), shadow, (0, 1), waits))
    return Plan(live, shadow, tuple(lanes))


@contextmanager
def shadows(session: Session, projections: Sequence["Projection"]) -> Iterator[Plan]:
    """Hold the rebuild lock, make every lane's empty shadows (and the views that show a
    partitioned table whole), and drop them all at the end."""
    with session.transaction() as tx:
        if not tx.fetchone(f"SELECT pg_try_advisory_lock({_LOCK_KEY}) AS taken")["taken"]:
            raise RebuildUnderWay("another rebuild of the read models is under way on this "
                                  "database: wait for it to end")
        live = tx.fetchone("SELECT current_schema() AS name")["name"]
    plan = plan_lanes(projections, live, parts())
    by_name = {p.name: p for p in projections}
    try:
        with session.transaction() as tx:
            _drop_all(tx, plan)  # what a crashed rebuild left
            for lane in plan.lanes:
                for name in lane.projections:
                    projection = by_name[name]
                    for table in projection.tables:
                        _create_shadow(tx, live, lane.schema, table,
                                       indexed=table not in projection.indexed_for_readers)
            split = [lane for lane in plan.lanes if lane.schema != plan.shadow]
            for projection in {by_name[n] for lane in split for n in lane.projections}:
                for table in projection.tables:
                    _create_whole_view(tx, plan, split, table,
                                       summed=table in projection.summed_tables)
        yield plan
    finally:
        with session.transaction() as tx:
            _drop_all(tx, plan)
            tx.execute(f"SELECT pg_advisory_unlock({_LOCK_KEY})")


def replay(plan: Plan, upto: int, batch_size: int, tools: Tools, reopen: Reopen | None) -> None:
    """Run every lane of ``plan`` up to position ``upto``: in processes of their own when
    ``reopen`` is given, else in threads with ``tools``. The first lane to fail stops the
    others, and its error is raised here."""
    context = multiprocessing.get_context("spawn")
    progress = [context.RawValue("q", 0) for _ in plan.lanes]
    failed, results = context.Event(), context.SimpleQueue()
    if reopen is None:
        workers = [threading.Thread(target=_thread_lane, name=f"rebuild-lane-{index}",
                                    args=(tools, plan, index, upto, batch_size, progress,
                                          failed, results))
                   for index in range(len(plan.lanes))]
    else:
        workers = [context.Process(target=_process_lane, name=f"rebuild-lane-{index}",
                                   args=(reopen, plan, index, upto, batch_size, progress,
                                         failed, results))
                   for index in range(len(plan.lanes))]
    for worker in workers:
        worker.start()
    try:
        _wait_for_lanes(workers, results, failed)
    finally:
        failed.set()  # a lane still running (the caller was interrupted) stops
        for worker in workers:
            worker.join()


def _wait_for_lanes(workers: list, results, failed) -> None:
    pending = set(range(len(workers)))
    while pending:
        if results.empty():
            died = [i for i in pending if not workers[i].is_alive()]
            if died and results.empty():  # gone without a word: killed
                raise RuntimeError(f"rebuild lane {died[0]} ended without reporting: "
                                   "the rebuild is abandoned, the read models are unchanged")
            time.sleep(WAIT_S * 5)
            continue
        index, error = results.get()
        pending.discard(index)
        if error is not None:
            failed.set()
            raise error


def _thread_lane(tools: Tools, plan: Plan, index: int, upto: int, batch_size: int,
                 progress, failed, results) -> None:
    try:
        _run_lane(tools, plan, index, upto, batch_size, progress, failed)
        results.put((index, None))
    except BaseException as error:  # raised again in the rebuild's thread
        results.put((index, error))


def _process_lane(reopen: Reopen, plan: Plan, index: int, upto: int, batch_size: int,
                  progress, failed, results) -> None:
    try:
        with reopen() as tools, collecting_less():
            _run_lane(tools, plan, index, upto, batch_size, progress, failed)
        results.put((index, None))
    except BaseException as error:
        try:
            results.put((index, error))
        except Exception:  # an error that does not pickle: its words, then
            results.put((index, RuntimeError(f"rebuild lane {index}: {error!r}")))


def _passed(progress, lanes: tuple[int, ...], position: int, failed) -> float:
    """How far every lane of ``lanes`` has committed, once that is ``position`` or more
    (without lanes to wait for, everything has passed)."""
    while True:
        if failed.is_set():
            raise _Stopped
        passed = min((progress[i].value for i in lanes), default=math.inf)
        if passed >= position:
            return passed
        time.sleep(WAIT_S)


def _position(recorded: Recorded) -> int:
    return recorded.position


class _Stopped(Exception):
    """Another lane failed: this one stops where it is."""


def _run_lane(tools: Tools, plan: Plan, index: int, upto: int, batch_size: int,
              progress, failed) -> None:
    store, db, projections = tools
    lane = plan.lanes[index]
    by_name = {p.name: p for p in projections}
    chosen = [by_name[name] for name in lane.projections]
    types = event_types(chosen)
    bulk = bulk_types(chosen)
    with db.session() as session:
        with session.transaction() as tx:
            tx.execute(f"SET search_path = {lane.schema}, {plan.live}")
        batches = store.read_log_part(upto, types, lane.part, batch_size, opened_fields(chosen))
        # No read-ahead thread, as a rebuild in one session has: with more lanes than
        # cores, another lane takes the core while this one waits for the database, and
        # the thread's hand-offs cost a tenth more CPU.
        for batch in batches:
            while batch:
                # Apply as much of the batch as the lanes read from have passed: a bill
                # early in the log is applied as soon as they pass it, not when they
                # pass the batch's last event, which may be near the log's end.
                ready = _passed(progress, lane.waits_for, batch[0].position, failed)
                cut = before_bulk(batch, bisect.bisect_right(batch, ready, key=_position), bulk)
                with session.transaction() as tx:
                    apply_batch(tx, chosen, batch[:cut])
                progress[index].value = batch[cut - 1].position
                batch = batch[cut:]
    progress[index].value = upto


def _create_shadow(tx: Tx, live: str, schema: str, table: str, indexed: bool) -> None:
    """An empty UNLOGGED copy of a live table: its columns, keys, defaults and storage
    parameters (the fill factor that keeps a payment's updates of its rows on their
    pages, 0003_contributions_postgresql, made replaying a year's payments a third
    faster); its non-unique indexes only when ``indexed``: the ones only readers use cost
    a fifth of PostgreSQL's work in a rebuild."""
    row = tx.fetchone("SELECT array_to_string(reloptions, ', ') AS options FROM pg_class "
                      "WHERE oid = to_regclass(:name)", {"name": f"{live}.{table}"})
    options = f" WITH ({row['options']})" if row["options"] else ""
    tx.execute(f"CREATE UNLOGGED TABLE {schema}.{table} (LIKE {live}.{table} INCLUDING ALL)"
               + options)
    if not indexed:
        for index in tx.fetchall("SELECT x.relname AS name FROM pg_index i "
                                 "JOIN pg_class x ON x.oid = i.indexrelid "
                                 "WHERE i.indrelid = to_regclass(:name) AND NOT i.indisunique",
                                 {"name": f"{schema}.{table}"}):
            tx.execute(f"DROP INDEX {schema}.{index['name']}")


def _create_whole_view(tx: Tx, plan: Plan, split: Sequence[Lane], table: str, summed: bool
                       ) -> None:
    """A view in the shadow schema showing the parts' copies of ``table`` as one table:
    their rows side by side, or, for a table of counts, each key's counts added up."""
    parts = " UNION ALL ".join(f"SELECT * FROM {lane.schema}.{table}" for lane in split)
    if not summed:
        tx.execute(f"CREATE VIEW {plan.shadow}.{table} AS {parts}")
        return
    key = key_columns(tx, "postgresql", plan.live, table)
    counts = [c for c in columns(tx, "postgresql", plan.live, table) if c not in key]
    tx.execute(f"CREATE VIEW {plan.shadow}.{table} AS SELECT {', '.join(key)}, "
               + ", ".join(f"CAST(SUM({c}) AS integer) AS {c}" for c in counts)
               + f" FROM ({parts}) AS parts GROUP BY {', '.join(key)}")


def _drop_all(tx: Tx, plan: Plan) -> None:
    """Every table and view in the rebuild's schemas: only shadows are ever made there."""
    schemas = [plan.shadow, *(f"{plan.shadow}_p{k}" for k in range(1, MAX_PARTS + 1))]
    condition, params = tx.any_of("n.nspname", schemas)
    for row in tx.fetchall("SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind "
                           "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                           f"WHERE {condition} AND c.relkind IN ('r', 'v') "
                           "ORDER BY c.relkind DESC", params):  # views first
        kind = "VIEW" if row["kind"] == "v" else "TABLE"
        tx.execute(f"DROP {kind} IF EXISTS {row['schema']}.{row['name']}")
