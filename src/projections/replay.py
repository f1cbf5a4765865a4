"""What every rebuild does, in one session or in lanes: read the log ahead of the writes,
apply a batch to the projections in order, and swap the shadows' rows into the live
tables.
"""

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from ledger.events import PersonalFields
from ledger.storage import Dialect, Tx
from ledger.store import Recorded

if TYPE_CHECKING:
    from projections.runner import Projection


SWAP_WORK_MEM = "128MB"
"""What a swap's full join may hash in memory on PostgreSQL (per projection swapped)."""


def opened_fields(projections: Iterable["Projection"]) -> PersonalFields:
    """The personal fields any of ``projections`` reads: what their log reads open. A
    field one of them copies sealed (``sealed_fields``) must stay so for all of them."""
    projections = list(projections)
    union: dict[str, set[tuple[str, ...]]] = {}
    for projection in projections:
        for type_name, paths in projection.personal_fields.items():
            union.setdefault(type_name, set()).update(paths)
    for projection in projections:
        for type_name, paths in projection.sealed_fields.items():
            if clash := union.get(type_name, set()) & set(paths):
                raise ValueError(f"{projection.name} copies {type_name} "
                                 f"{sorted('.'.join(p) for p in clash)} sealed, which another "
                                 "projection reading the same events opens")
    return {type_name: tuple(sorted(paths)) for type_name, paths in union.items()}


def read_ahead(batches: Iterator[list[Recorded]]) -> Iterator[list[Recorded]]:
    """``batches``, each read one ahead in a thread of its own: the log's query and the
    projections' writes wait for the database without the GIL, so each overlaps with the
    other side's Python. The reader stops at the first batch not taken (an error on
    either side)."""
    ahead: queue.Queue = queue.Queue(maxsize=1)
    done = object()
    stop = threading.Event()

    def read() -> None:
        try:
            for batch in batches:
                ahead.put(batch)
                if stop.is_set():
                    return
            ahead.put(done)
        except BaseException as error:  # raised again in the caller's thread
            ahead.put(error)

    reader = threading.Thread(target=read, name="rebuild-read-ahead", daemon=True)
    reader.start()
    try:
        while (item := ahead.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # let a reader blocked on a full queue see the stop
            try:
                ahead.get(timeout=0.05)
            except queue.Empty:
                pass
        reader.join()


def event_types(projections: Iterable["Projection"]) -> tuple[type, ...]:
    """The events any of ``projections`` applies: what their log reads ask for."""
    return tuple({cls for projection in projections for cls in projection.event_types})


def bulk_types(projections: Iterable["Projection"]) -> tuple[type, ...]:
    return tuple({cls for projection in projections for cls in projection.bulk_types})


def before_bulk(batch: Sequence[Recorded], cut: int, bulk: tuple[type, ...]) -> int:
    """Where the transaction applying ``batch[:cut]`` ends so that an event of ``bulk``
    has one of its own: a year's payments, each rewriting every member's months, in one
    transaction left every row twelve versions (none can be pruned before the commit),
    which grew the table fivefold and cost PostgreSQL three times the work."""
    if not bulk:
        return cut
    for at in range(cut):
        if isinstance(batch[at].event, bulk):
            return at or 1
    return cut


def apply_batch(tx: Tx, projections: Sequence["Projection"], batch: Sequence[Recorded]) -> None:
    for projection in projections:
        projection.apply(tx, batch)


def replace_rows(tx: Tx, dialect: Dialect, tables: Sequence[str], live: str, shadow: str) -> None:
    """The live tables' rows made those of their shadows, writing only the rows that
    differ: a rebuild usually changes nothing, and rewriting a million rows and their
    indexes took a third of it. DELETE and INSERT ... SELECT rather than TRUNCATE or a
    rename: readers keep seeing the old rows until the transaction commits (MVCC on
    PostgreSQL, WAL on SQLite) instead of waiting for it or finding a table missing."""
    for table in tables:  # our own constant names
        names = columns(tx, dialect, live, table)
        key = key_columns(tx, dialect, live, table)
        if dialect == "postgresql":
            _replace_changed(tx, live, shadow, table, names, key)
            continue
        same_key = " AND ".join(f"s.{k} = l.{k}" for k in key)
        same_row = (f"({', '.join(f'l.{c}' for c in names)}) IS "
                    f"({', '.join(f's.{c}' for c in names)})")
        # Both statements are anti-joins on the key, so each side is hashed by its key
        # once. A row that changed leaves, and comes back whole with the rows that are new.
        tx.execute(f"DELETE FROM {live}.{table} AS l WHERE NOT EXISTS (SELECT 1 FROM "
                   f"{shadow}.{table} AS s WHERE {same_key} AND {same_row})")
        tx.execute(f"INSERT INTO {live}.{table} ({', '.join(names)}) "
                   f"SELECT {', '.join(f's.{c}' for c in names)} FROM {shadow}.{table} AS s "
                   f"WHERE NOT EXISTS (SELECT 1 FROM {live}.{table} AS l WHERE {same_key})")


def _replace_changed(tx: Tx, live: str, shadow: str, table: str, names: Sequence[str],
                     key: Sequence[str]) -> None:
    """PostgreSQL's swap of one table: the keys of the rows that differ found in one full
    join of the two tables (two anti-joins read both twice: the swap of 466,000
    participants took 3 s), then only those rows deleted and written again."""
    changed = f"changed_{table}"
    # Room to hash one side in memory (a million events' 443,000 participants take 200 MB
    # of the 256 MB this gives with PostgreSQL's hash_mem_multiplier of 2): with the
    # default 4 MB the join spilled to disk in 32 batches, 2.4 s against 1.6.
    tx.execute(f"SET LOCAL work_mem = '{SWAP_WORK_MEM}'")
    tx.execute(
        f"CREATE TEMP TABLE {changed} ON COMMIT DROP AS SELECT "
        + ", ".join(f"COALESCE(l.{k}, s.{k}) AS {k}" for k in key)
        + f" FROM {live}.{table} AS l FULL JOIN {shadow}.{table} AS s ON "
        + " AND ".join(f"s.{k} = l.{k}" for k in key)
        + f" WHERE ({', '.join(f'l.{c}' for c in names)}) IS DISTINCT FROM "
        + f"({', '.join(f's.{c}' for c in names)})")
    if not tx.fetchone(f"SELECT EXISTS (SELECT 1 FROM {changed}) AS found")["found"]:
        return
    tx.execute(f"ANALYZE {changed}")  # so that few keys are looked up, not joined to all
    keys = ", ".join(key)
    tx.execute(f"DELETE FROM {live}.{table} WHERE ({keys}) IN (SELECT {keys} FROM {changed})")
    tx.execute(f"INSERT INTO {live}.{table} ({', '.join(names)}) "
               f"SELECT {', '.join(names)} FROM {shadow}.{table} "
               f"WHERE ({keys}) IN (SELECT {keys} FROM {changed})")


def columns(tx: Tx, dialect: Dialect, schema: str, table: str) -> list[str]:
    """A live table's columns in order, for the swap's explicit column lists."""
    if dialect == "postgresql":
        rows = tx.fetchall("SELECT column_name AS name FROM information_schema.columns "
                           "WHERE table_schema = :schema AND table_name = :table "
                           "ORDER BY ordinal_position", {"schema": schema, "table": table})
    else:
        rows = tx.fetchall("SELECT name FROM pragma_table_info(:table, :schema) ORDER BY cid",
                           {"table": table, "schema": schema})
    return [row["name"] for row in rows]


def key_columns(tx: Tx, dialect: Dialect, schema: str, table: str) -> list[str]:
    """A live table's primary key (every projection table has one)."""
    if dialect == "postgresql":
        rows = tx.fetchall("SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a "
                           "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                           "WHERE i.indrelid = to_regclass(:name) AND i.indisprimary "
                           "ORDER BY array_position(i.indkey, a.attnum)",
                           {"name": f"{schema}.{table}"})
    else:
        rows = tx.fetchall("SELECT name FROM pragma_table_info(:table, :schema) WHERE pk > 0 "
                           "ORDER BY pk", {"table": table, "schema": schema})
    if not rows:
        raise LookupError(f"{schema}.{table} has no primary key: a rebuild swaps rows by it")
    return [row["name"] for row in rows]
