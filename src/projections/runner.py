"""Keeps projections caught up with the log, exactly once per event, and rebuilds them
while the old read models keep serving.

Each projection records the last log position it applied in
``projection_positions``, in the same transaction as its own rows; the row is
locked first, so two runners (API processes, a worker) never apply the same
batch twice and a crash mid-batch leaves neither rows nor position behind.
A runner that finds the rows locked does not queue behind the lock (every API
thread and the worker would, one batch after another): it waits for the
positions to pass the log head it is after, which the holder's commit does.

A rebuild replays the log into shadows of the projection's tables: TEMP tables of
the same names on a connection of the rebuild's own (``Database.session``). Both
PostgreSQL and SQLite look a table name up among a session's TEMP tables first, so
the projections' own SQL writes the shadows there, while every other connection
(readers, the incremental runner) goes on with the live tables. TEMP tables need no
right to create tables in the schema, and they go with the connection, so a crashed
rebuild leaves nothing behind.
"""

import queue
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Protocol
from uuid import UUID

import structlog

from ledger.collector import collecting_less
from ledger.events import PersonalFields
from ledger.storage import Database, Dialect, Session, Tx
from ledger.store import EventStore, Recorded

SHADOW_BUFFERS = "512MB"
"""PostgreSQL's temp_buffers for a rebuild's session: a million events' read models fit."""
FIRST_POLL_S = 0.002
LAST_POLL_S = 0.05
"""How often a runner looks again while another applies: from about a command's apply
(a few ms) up to a fraction of a 5,000-event batch's."""
_log = structlog.get_logger("projections.runner")


class Projection(Protocol):
    name: str
    tables: tuple[str, ...]
    """Every table the projection owns: replaced in full by a rebuild."""
    personal_fields: PersonalFields
    """The personal fields (``events.PERSONAL_FIELDS`` paths) whose values ``apply`` reads;
    the others reach it still sealed, which spares opening what no read model holds."""
    indexed_for_readers: tuple[str, ...]
    """Tables of ``tables`` whose non-unique indexes only readers use: no projection's
    ``apply`` looks their rows up but by a unique key. A rebuild's shadows of them go
    without those indexes; the live tables keep theirs, and the swap writes through them."""

    def apply(self, tx: Tx, batch: Sequence[Recorded]) -> None: ...


class ProjectionRunner:
    def __init__(self, store: EventStore, db: Database, projections: Sequence[Projection],
                 batch_size: int = 5000) -> None:
        self._store = store
        self._db = db
        self._projections = {p.name: p for p in projections}
        self._opened = _union(p.personal_fields for p in projections)
        self._batch_size = batch_size
        self._lock_clause = " FOR UPDATE" if db.dialect == "postgresql" else ""
        # SQLite has no row locks: its write transaction is the database's one writer slot.
        self._try_lock_clause = " FOR UPDATE SKIP LOCKED" if db.dialect == "postgresql" else ""
        self._rows_made = False

    @property
    def names(self) -> list[str]:
        return list(self._projections)

    def catch_up(self, upto: int | None = None, only: Sequence[str] | None = None) -> int:
        """Bring every projection (or those named in ``only``: the ones a read needs) to
        the log head as it is now (or to ``upto``), so that a read after it sees every
        write acknowledged before the call; return how many log events this runner
        applied (events another runner applied meanwhile are not counted). Projections at
        the same position share each read. A projection that reads another's tables
        (contributions reads the programs' and participants') must not be named without
        them: it would apply events before they do."""
        target = self._store.head() if upto is None else upto
        chosen = [p for p in self._projections.values() if only is None or p.name in only]
        return self._catch_up(chosen, target)

    def catch_up_with(self, stream_id: UUID, only: Sequence[str]) -> int:
        """Catch the projections in ``only`` up to the stream's last event, not the head:
        enough for a read of rows those projections fold from that one stream alone (a
        participant's, a claim's). Every write to the stream acknowledged before the call is
        then applied, and the read does not wait for the rest of the log's tail, which a
        busy worker may still be applying. A payment's answer still catches up to the head:
        bounded to its bill's stream, it was no faster and left more to the budget reads."""
        return self.catch_up(upto=self._store.last_position(stream_id), only=only)

    def run(self, stop: threading.Event, idle_wait_s: float = 0.2) -> None:
        """Keep catching up until ``stop`` is set: the loop of a projection worker, which
        lets projections follow a long import on the other core instead of after it."""
        while not stop.is_set():
            if self.catch_up() == 0:
                stop.wait(idle_wait_s)

    def rebuild(self, name: str | None = None) -> int:
        """Replay the whole log into shadows of the named projection's tables (or every
        projection's), then swap them in at once; return how many log events were read.
        Until the swap commits, readers see the old read model, complete. A projection
        rebuilt alone reads the other projections' live tables, as it does when it runs
        incrementally."""
        chosen = [self._projections[name]] if name else list(self._projections.values())
        tables = [table for projection in chosen for table in projection.tables]
        unindexed = {table for projection in chosen for table in projection.indexed_for_readers}
        started = time.perf_counter()
        with self._db.session() as session, collecting_less():
            live, shadow = _create_shadows(session, tables, unindexed)
            replayed = position = 0
            # While the service goes on appending; the next batch is read and decoded
            # while this one is written.
            for batch in _read_ahead(self._batches(position)):
                with session.transaction() as tx:
                    _apply(tx, chosen, batch)
                position, replayed = batch[-1].position, replayed + len(batch)
            swap_started = time.perf_counter()
            with session.transaction() as tx:
                # With the positions locked an incremental runner waits for this
                # transaction instead of applying events to the rows it replaces, and
                # then goes on from where the shadows end: what is appended after the
                # tail below was read, it applies, once.
                self._lock_positions(tx, chosen)
                for batch in self._batches(position):
                    _apply(tx, chosen, batch)
                    position, replayed = batch[-1].position, replayed + len(batch)
                _replace(tx, session.dialect, tables, live, shadow)
                for projection in chosen:
                    self._set_position(tx, projection.name, position)
        # How long the swap held the positions (incremental runners wait that long).
        _log.info("projections_rebuilt", projections=[p.name for p in chosen], events=replayed,
                  replay_s=round(swap_started - started, 2),
                  swap_s=round(time.perf_counter() - swap_started, 2))
        return replayed  # the shadows went with the session's connection

    def positions(self) -> dict[str, int]:
        with self._db.snapshot() as tx:
            rows = tx.fetchall("SELECT name, position FROM projection_positions")
        found = {row["name"]: row["position"] for row in rows}
        return {name: found.get(name, 0) for name in self._projections}

    def lag(self) -> int:
        """Events in the log that the slowest projection has not applied yet."""
        head = self._store.head()
        return max((head - pos for pos in self.positions().values()), default=0)

    def _catch_up(self, projections: list[Projection], upto: int) -> int:
        """Read a batch first, then apply it in a transaction that locks the positions and
        checks nobody moved them meanwhile: reading inside the transaction would hold one
        pooled connection while waiting for another. While another runner holds the
        positions, wait for its commit instead of reading a batch it is applying."""
        applied, wait_s = 0, FIRST_POLL_S
        while True:
            seen = self._positions_of(projections)
            start = min(seen.values())
            if start >= upto:
                return applied
            if self._applying_elsewhere(projections):
                time.sleep(wait_s)
                wait_s = min(wait_s * 2, LAST_POLL_S)
                continue
            batch = self._store.read_log(start, self._batch_size, upto, opened=self._opened)
            if not batch:
                return applied
            with self._db.transaction() as tx:
                locked = self._try_lock_positions(tx, projections)
                if locked != seen:
                    continue  # another runner applied some of it, or is applying: look again
                for projection in projections:
                    unseen = [r for r in batch if r.position > locked[projection.name]]
                    if unseen:
                        projection.apply(tx, unseen)
                        self._set_position(tx, projection.name, unseen[-1].position)
            applied, wait_s = applied + len(batch), FIRST_POLL_S

    def _positions_of(self, projections: Sequence[Projection]) -> dict[str, int]:
        """The projections' positions; their rows are made on a runner's first catch-up,
        so that locking them later never needs to insert."""
        if not self._rows_made:
            with self._db.transaction() as tx:
                tx.executemany("INSERT INTO projection_positions (name, position) "
                               "VALUES (:name, 0) ON CONFLICT (name) DO NOTHING",
                               [{"name": name} for name in self._projections])
            self._rows_made = True
        positions = self.positions()
        return {p.name: positions[p.name] for p in projections}

    def _applying_elsewhere(self, projections: Sequence[Projection]) -> bool:
        if self._db.dialect != "postgresql":
            return False  # no row locks to probe: SQLite's writer slot queues the apply itself
        with self._db.transaction() as tx:
            return self._try_lock_positions(tx, projections) is None

    def _try_lock_positions(self, tx: Tx, projections: Sequence[Projection]
                            ) -> dict[str, int] | None:
        """Each projection's position with its row locked, or None when another runner
        holds any of them (the rows this did lock go with the transaction)."""
        names = sorted(p.name for p in projections)
        condition, params = tx.any_of("name", names)
        rows = tx.fetchall(f"SELECT name, position FROM projection_positions WHERE {condition} "
                           f"ORDER BY name{self._try_lock_clause}", params)
        if len(rows) < len(names):
            return None
        return {row["name"]: row["position"] for row in rows}

    def _batches(self, after: int) -> Iterator[list[Recorded]]:
        """The log after ``after``, a batch at a time, up to the first short batch (the
        head, when it was read). Each is read only when the caller asks for it, so that
        the rebuild's catch-up reads between its transactions, not in one (on SQLite a
        transaction holds the single writer slot)."""
        while batch := self._store.read_log(after, self._batch_size, opened=self._opened):
            yield batch
            if len(batch) < self._batch_size:
                return
            after = batch[-1].position

    def _lock_positions(self, tx: Tx, projections: Sequence[Projection]) -> dict[str, int]:
        """Each projection's position, its row locked, in name order (as every runner
        locks them, so that two never wait for each other)."""
        return {p.name: self._locked_position(tx, p.name)
                for p in sorted(projections, key=lambda p: p.name)}

    def _locked_position(self, tx: Tx, name: str) -> int:
        tx.execute("INSERT INTO projection_positions (name, position) VALUES (:name, 0) "
                   "ON CONFLICT (name) DO NOTHING", {"name": name})
        row = tx.fetchone("SELECT position FROM projection_positions WHERE name = :name"
                          + self._lock_clause, {"name": name})
        return row["position"]

    def _set_position(self, tx: Tx, name: str, position: int) -> None:
        tx.execute("UPDATE projection_positions SET position = :position WHERE name = :name",
                   {"position": position, "name": name})


def _union(fields: Iterable[PersonalFields]) -> PersonalFields:
    union: dict[str, set[tuple[str, ...]]] = {}
    for each in fields:
        for type_name, paths in each.items():
            union.setdefault(type_name, set()).update(paths)
    return {type_name: tuple(sorted(paths)) for type_name, paths in union.items()}


def _read_ahead(batches: Iterator[list[Recorded]]) -> Iterator[list[Recorded]]:
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


def _apply(tx: Tx, projections: Sequence[Projection], batch: Sequence[Recorded]) -> None:
    for projection in projections:
        projection.apply(tx, batch)


def _create_shadows(session: Session, tables: Sequence[str], unindexed: Collection[str]
                    ) -> tuple[str, str]:
    """Create the session's empty shadows of ``tables``, with the live tables' columns,
    keys and indexes (the projections' upserts need the keys, their lookups the indexes),
    but for the non-unique indexes of ``unindexed``, which only readers use: keeping them
    for every replayed row was a fifth of PostgreSQL's work in a rebuild. Return the
    (live, shadow) schema names that tell the two apart."""
    with session.transaction() as tx:
        if session.dialect == "postgresql":
            # TEMP tables live in the session's own buffers, 8 MB unless raised before
            # the first is made; taken only as the shadows fill them.
            tx.execute(f"SET temp_buffers = '{SHADOW_BUFFERS}'")
            live = tx.fetchone("SELECT current_schema() AS name")["name"]
            for table in tables:
                tx.execute(f"CREATE TEMP TABLE {table} (LIKE {live}.{table} INCLUDING ALL)"
                           + _storage_parameters(tx, live, table))
            for row in tx.fetchall(
                    "SELECT x.relname AS name, t.relname AS table_name FROM pg_index i "
                    "JOIN pg_class x ON x.oid = i.indexrelid "
                    "JOIN pg_class t ON t.oid = i.indrelid "
                    "WHERE t.relnamespace = pg_my_temp_schema() AND NOT i.indisunique"):
                if row["table_name"] in unindexed:  # the shadow's, named as the live one's
                    tx.execute(f"DROP INDEX pg_temp.{row['name']}")
            return live, "pg_temp"
        for table in tables:
            _create_sqlite_shadow(tx, table, indexed=table not in unindexed)
        return "main", "temp"


def _storage_parameters(tx: Tx, schema: str, table: str) -> str:
    """The live table's WITH (...) clause, which LIKE does not copy: the fill factor that
    keeps a payment's updates of its rows on their pages (0003_contributions_postgresql)
    makes replaying a year's payments a third faster."""
    row = tx.fetchone("SELECT array_to_string(reloptions, ', ') AS options FROM pg_class "
                      "WHERE oid = to_regclass(:name)", {"name": f"{schema}.{table}"})
    return f" WITH ({row['options']})" if row["options"] else ""


def _replace(tx: Tx, dialect: Dialect, tables: Sequence[str], live: str, shadow: str) -> None:
    """The live tables' rows made those of their shadows, writing only the rows that
    differ: a rebuild usually changes nothing, and rewriting a million rows and their
    indexes took a third of it. DELETE and INSERT ... SELECT rather than TRUNCATE or a
    rename: readers keep seeing the old rows until the transaction commits (MVCC on
    PostgreSQL, WAL on SQLite) instead of waiting for it or finding a table missing.
    Both statements are anti-joins on the key, so each side is hashed by its key once;
    ``EXCEPT`` both ways hashed every column of both tables twice."""
    same = "IS NOT DISTINCT FROM" if dialect == "postgresql" else "IS"  # NULL equals NULL
    for table in tables:  # our own constant names
        columns = _columns(tx, dialect, live, table)
        same_key = " AND ".join(f"s.{k} = l.{k}" for k in _key_columns(tx, dialect, live, table))
        same_row = (f"({', '.join(f'l.{c}' for c in columns)}) {same} "
                    f"({', '.join(f's.{c}' for c in columns)})")
        # A row that changed leaves, and comes back whole with the rows that are new.
        tx.execute(f"DELETE FROM {live}.{table} AS l WHERE NOT EXISTS (SELECT 1 FROM "
                   f"{shadow}.{table} AS s WHERE {same_key} AND {same_row})")
        tx.execute(f"INSERT INTO {live}.{table} ({', '.join(columns)}) "
                   f"SELECT {', '.join(f's.{c}' for c in columns)} FROM {shadow}.{table} AS s "
                   f"WHERE NOT EXISTS (SELECT 1 FROM {live}.{table} AS l WHERE {same_key})")


def _create_sqlite_shadow(tx: Tx, table: str, indexed: bool) -> None:
    """SQLite has no CREATE TABLE ... LIKE: run the live table's own DDL (which has the
    columns later migrations added) in the temp schema; its non-unique indexes only when
    ``indexed`` (keys declared in the table's DDL come with it)."""
    rows = tx.fetchall("SELECT type, name, sql FROM main.sqlite_master WHERE tbl_name = :table "
                       "AND sql IS NOT NULL ORDER BY type DESC", {"table": table})
    for row in rows:  # the table ('table' sorts after 'index') before its indexes
        kind, name, sql = row["type"], row["name"], row["sql"]
        if kind == "table":
            tx.execute(sql.replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
        elif indexed or sql.upper().startswith("CREATE UNIQUE"):
            # An index in the temp schema indexes the temp table of that name.
            tx.execute(sql.replace(f"INDEX {name}", f"INDEX temp.{name}", 1))


def _columns(tx: Tx, dialect: Dialect, schema: str, table: str) -> list[str]:
    """A live table's columns in order, for the swap's explicit column lists."""
    if dialect == "postgresql":
        rows = tx.fetchall("SELECT column_name AS name FROM information_schema.columns "
                           "WHERE table_schema = :schema AND table_name = :table "
                           "ORDER BY ordinal_position", {"schema": schema, "table": table})
    else:
        rows = tx.fetchall("SELECT name FROM pragma_table_info(:table, :schema) ORDER BY cid",
                           {"table": table, "schema": schema})
    return [row["name"] for row in rows]


def _key_columns(tx: Tx, dialect: Dialect, schema: str, table: str) -> list[str]:
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
