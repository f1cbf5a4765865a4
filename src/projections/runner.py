"""Keeps projections caught up with the log, exactly once per event.

Each projection records the last log position it applied in
``projection_positions``, in the same transaction as its own rows; the row is
locked first, so two runners (API processes, a worker) never apply the same
batch twice and a crash mid-batch leaves neither rows nor position behind.
"""

import threading
from collections.abc import Sequence
from typing import Protocol

from ledger.storage import Database, Tx
from ledger.store import EventStore, Recorded


class Projection(Protocol):
    name: str
    tables: tuple[str, ...]
    """Every table the projection owns: emptied on rebuild."""

    def apply(self, tx: Tx, batch: Sequence[Recorded]) -> None: ...


class ProjectionRunner:
    def __init__(self, store: EventStore, db: Database, projections: Sequence[Projection],
                 batch_size: int = 5000) -> None:
        self._store = store
        self._db = db
        self._projections = {p.name: p for p in projections}
        self._batch_size = batch_size
        self._lock_clause = " FOR UPDATE" if db.dialect == "postgresql" else ""

    @property
    def names(self) -> list[str]:
        return list(self._projections)

    def catch_up(self, upto: int | None = None) -> int:
        """Apply every event not yet applied (up to ``upto``); return how many log
        events were read. Projections at the same position share each read."""
        return self._catch_up(list(self._projections.values()), upto)

    def run(self, stop: threading.Event, idle_wait_s: float = 0.2) -> None:
        """Keep catching up until ``stop`` is set: the loop of a projection worker, which
        lets projections follow a long import on the other core instead of after it."""
        while not stop.is_set():
            if self.catch_up() == 0:
                stop.wait(idle_wait_s)

    def rebuild(self, name: str | None = None) -> int:
        """Empty the named projection (or all) and replay the whole log into it."""
        chosen = [self._projections[name]] if name else list(self._projections.values())
        with self._db.transaction() as tx:
            for projection in chosen:
                for table in projection.tables:
                    tx.execute(f"DELETE FROM {table}")  # names are our own constants
                tx.execute("DELETE FROM projection_positions WHERE name = :name",
                           {"name": projection.name})
        return self._catch_up(chosen, None)

    def positions(self) -> dict[str, int]:
        with self._db.snapshot() as tx:
            rows = tx.fetchall("SELECT name, position FROM projection_positions")
        found = {row["name"]: row["position"] for row in rows}
        return {name: found.get(name, 0) for name in self._projections}

    def lag(self) -> int:
        """Events in the log that the slowest projection has not applied yet."""
        head = self._store.head()
        return max((head - pos for pos in self.positions().values()), default=0)

    def _catch_up(self, projections: list[Projection], upto: int | None) -> int:
        """Read a batch first, then apply it in a transaction that locks the positions and
        checks nobody moved them meanwhile: reading inside the transaction would hold one
        pooled connection while waiting for another."""
        applied = 0
        while True:
            seen = {name: pos for name, pos in self.positions().items()
                    if name in {p.name for p in projections}}
            start = min(seen.values())
            if upto is not None and start >= upto:
                return applied
            batch = self._store.read_log(start, self._batch_size, upto)
            if not batch:
                return applied
            with self._db.transaction() as tx:
                locked = {p.name: self._locked_position(tx, p.name)
                          for p in sorted(projections, key=lambda p: p.name)}
                if locked != seen:
                    continue  # another runner applied some of it first: read again
                for projection in projections:
                    unseen = [r for r in batch if r.position > locked[projection.name]]
                    if unseen:
                        projection.apply(tx, unseen)
                        tx.execute("UPDATE projection_positions SET position = :position "
                                   "WHERE name = :name",
                                   {"position": unseen[-1].position, "name": projection.name})
            applied += len(batch)

    def _locked_position(self, tx: Tx, name: str) -> int:
        tx.execute("INSERT INTO projection_positions (name, position) VALUES (:name, 0) "
                   "ON CONFLICT (name) DO NOTHING", {"name": name})
        row = tx.fetchone("SELECT position FROM projection_positions WHERE name = :name"
                          + self._lock_clause, {"name": name})
        return row["position"]
