"""Keeps projections caught up with the log, exactly once per event, and rebuilds them
while the old read models keep serving.

Each projection records the last log position it applied in
``projection_positions``, in the same transaction as its own rows; the row is
locked first, so two runners (API processes, a worker) never apply the same
batch twice and a crash mid-batch leaves neither rows nor position behind.
A runner that finds the rows locked does not queue behind the lock (every API
thread and the worker would, one batch after another): it waits for the
positions to pass the log head it is after, which the holder's commit does.

A rebuild replays the log into shadows of the projection's tables, tables of the
same names that the rebuild's connections find before the live ones, so the
projections' own SQL writes the shadows while every other connection (readers, the
incremental runner) goes on with the live tables. On SQLite they are TEMP tables of a
connection of the rebuild's own (``Database.session``), which SQLite looks a name up
among first, and which go with the connection, so a crashed rebuild leaves nothing
behind. On PostgreSQL the log is replayed in lanes side by side, each a session whose
search_path puts a schema of shadows first (``projections.lanes``).
"""

import threading
import time
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol
from uuid import UUID

import structlog

from ledger.collector import collecting_less
from ledger.events import Event, PersonalFields
from ledger.storage import Database, Session, Tx
from ledger.store import EventStore, Recorded
from projections import lanes
from projections.replay import (
    apply_batch,
    before_bulk,
    bulk_types,
    event_types,
    opened_fields,
    read_ahead,
    replace_rows,
)

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
    sealed_fields: PersonalFields
    """Personal fields ``apply`` copies as the log's sealed text, never opened
    (``Keyring.resealed``): no projection read with it may open them."""
    indexed_for_readers: tuple[str, ...]
    """Tables of ``tables`` whose non-unique indexes only readers use: no projection's
    ``apply`` looks their rows up but by a unique key. A rebuild's shadows of them go
    without those indexes; the live tables keep theirs, and the swap writes through them."""
    event_types: tuple[type[Event], ...]
    """The events ``apply`` reads; a rebuild reads (and decodes) only these."""
    by_stream: bool
    """Whether its rows of a stream fold that stream's events alone (counts over many
    streams only adding up): a rebuild on PostgreSQL then splits the streams among lanes."""
    summed_tables: tuple[str, ...]
    """Tables of ``tables`` that hold counts over many streams, which lanes replaying
    parts of the streams each keep for their own part: the parts' counts add up."""
    reads_from: tuple[str, ...]
    """The projections whose tables ``apply`` reads: it applies a batch after them."""
    bulk_types: tuple[type[Event], ...]
    """Events of ``event_types`` that each rewrite many rows (a payment: every member's
    months): on PostgreSQL a rebuild's lane and a catch-up apply each in a transaction of
    its own, so that the row versions one leaves are pruned before the next rewrites the
    same rows."""

    def apply(self, tx: Tx, batch: Sequence[Recorded]) -> None: ...


class ProjectionRunner:
    def __init__(self, store: EventStore, db: Database, projections: Sequence[Projection],
                 batch_size: int = 5000, reopen: lanes.Reopen | None = None) -> None:
        """``reopen`` opens the same log, database and projections in another process:
        with it a rebuild's lanes are processes, without it threads."""
        self._store = store
        self._db = db
        self._projections = {p.name: p for p in projections}
        self._opened = opened_fields(projections)
        self._reopen = reopen
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
        applied (events another runner applied meanwhile are not counted, nor those of
        types none of the projections applies, which are not read at all). Projections at
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
        projection's), then swap each read model in at once; return how many log events
        were replayed. Until the swap commits, readers see the old read model, complete. A
        projection rebuilt alone reads the other projections' live tables, as it does when
        it runs incrementally. On PostgreSQL the replay runs in lanes side by side
        (``projections.lanes``), on SQLite in one session."""
        chosen = [self._projections[name]] if name else list(self._projections.values())
        started = time.perf_counter()
        with collecting_less():
            if self._db.dialect == "postgresql":
                replayed, swap_started = self._rebuild_in_lanes(chosen)
            else:
                replayed, swap_started = self._rebuild_in_session(chosen)
        # How long the swap held the positions (incremental runners wait that long).
        _log.info("projections_rebuilt", projections=[p.name for p in chosen], events=replayed,
                  replay_s=round(swap_started - started, 2),
                  swap_s=round(time.perf_counter() - swap_started, 2))
        return replayed

    def _rebuild_in_lanes(self, chosen: list[Projection]) -> tuple[int, float]:
        """Replay the log as far as its head now into the lanes' shadows, then swap each
        projection's in, side by side, and set its position there; what was appended
        meanwhile is then applied to the live tables as any catch-up would (a partitioned
        table's shadow is a view, which the tail cannot be written through)."""
        upto = self._store.head()
        with self._db.session() as session, lanes.shadows(session, chosen) as plan:
            lanes.replay(plan, upto, self._batch_size,
                         (self._store, self._db, list(self._projections.values())),
                         self._reopen)
            swap_started = time.perf_counter()
            with ThreadPoolExecutor(len(chosen), thread_name_prefix="rebuild-swap") as pool:
                for swapped in [pool.submit(self._swap_in, p, plan, upto) for p in chosen]:
                    swapped.result()
        head = self._store.head()
        self.catch_up(upto=head)  # counts only the events it read: the positions say more
        return head, swap_started

    def _swap_in(self, projection: Projection, plan: lanes.Plan, upto: int) -> None:
        """One projection's shadows swapped in, in a transaction of its own: the others'
        swaps run beside it, on the other cores. Each read model is whole at every
        moment, though one may be rebuilt a moment before another, as an incremental
        runner may leave one a batch ahead of another. An incremental runner waits for
        the swap, then goes on from ``upto``: what it applied to the live rows
        meanwhile, it applies again to the shadows' rows, once."""
        with self._db.session() as session, session.transaction() as tx:
            self._lock_positions(tx, [projection])
            replace_rows(tx, "postgresql", projection.tables, plan.live, plan.shadow)
            self._set_position(tx, projection.name, upto)

    def _rebuild_in_session(self, chosen: list[Projection]) -> tuple[int, float]:
        """Replay the log into TEMP shadows of the session's own, then, in one
        transaction with the positions locked, apply what was appended meanwhile and swap."""
        tables = [table for projection in chosen for table in projection.tables]
        unindexed = {table for projection in chosen for table in projection.indexed_for_readers}
        types = event_types(chosen)
        upto = self._store.head()
        with self._db.session() as session:
            _create_shadows(session, tables, unindexed)
            # While the service goes on appending; the next batch is read and decoded
            # while this one is written.
            for batch in read_ahead(self._store.read_log_part(
                    upto, types, (0, 1), self._batch_size, opened_fields(chosen))):
                with session.transaction() as tx:
                    apply_batch(tx, chosen, batch)
            position, replayed = upto, upto
            swap_started = time.perf_counter()
            with session.transaction() as tx:
                # With the positions locked an incremental runner waits for this
                # transaction instead of applying events to the rows it replaces, and
                # then goes on from where the shadows end: what is appended after the
                # tail below was read, it applies, once.
                self._lock_positions(tx, chosen)
                for batch in self._batches(position):
                    apply_batch(tx, chosen, batch)
                    position, replayed = batch[-1].position, replayed + len(batch)
                replace_rows(tx, session.dialect, tables, "main", "temp")
                for projection in chosen:
                    self._set_position(tx, projection.name, position)
        return replayed, swap_started  # the shadows went with the session's connection

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
        # On PostgreSQL a payment gets a transaction of its own, as in a rebuild's lanes:
        # a catch-up after a worker's downtime meets a year's payments in a few batches.
        # SQLite keeps no row versions, and a commit more costs it a write of its own.
        bulk = bulk_types(projections) if self._db.dialect == "postgresql" else ()
        types = event_types(projections)
        while True:
            seen = self._positions_of(projections)
            start = min(seen.values())
            if start >= upto:
                return applied
            if self._applying_elsewhere(projections):
                time.sleep(wait_s)
                wait_s = min(wait_s * 2, LAST_POLL_S)
                continue
            batch = self._store.read_log(start, self._batch_size, upto, opened=self._opened,
                                         types=types)
            # Only the events the projections apply are read and decoded (a claim's read
            # skips an import's thousands of submissions); their positions pass the rest.
            reached = batch[-1].position if len(batch) == self._batch_size else upto
            while True:
                cut = before_bulk(batch, len(batch), bulk)
                part, batch = batch[:cut], batch[cut:]
                last = part[-1].position if batch else reached
                with self._db.transaction() as tx:
                    locked = self._try_lock_positions(tx, projections)
                    if locked != seen:
                        break  # another runner applied some of it, or is applying: look again
                    for projection in projections:
                        if unseen := [r for r in part if r.position > locked[projection.name]]:
                            projection.apply(tx, unseen)
                        if locked[projection.name] < last:
                            self._set_position(tx, projection.name, last)
                seen = {name: max(position, last) for name, position in seen.items()}
                applied, wait_s = applied + len(part), FIRST_POLL_S
                if not batch:
                    break

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


def _create_shadows(session: Session, tables: Sequence[str], unindexed: Collection[str]
                    ) -> None:
    """Create the session's empty TEMP shadows of ``tables``, with the live tables'
    columns, keys and indexes (the projections' upserts need the keys, their lookups the
    indexes), but for the non-unique indexes of ``unindexed``, which only readers use."""
    with session.transaction() as tx:
        for table in tables:
            _create_sqlite_shadow(tx, table, indexed=table not in unindexed)


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


