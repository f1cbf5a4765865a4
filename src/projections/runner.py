"""Keeps projections caught up with the log, exactly once per event.

Each projection records the last log position it applied in
``projection_positions``, in the same transaction as its own rows; the row is
locked first, so two runners (API processes, a worker) never apply the same
batch twice and a crash mid-batch leaves neither rows nor position behind.
"""

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
        """Apply every event not yet applied (up to ``upto``); return how many."""
        return sum(self._catch_up(p, upto) for p in self._projections.values())

    def rebuild(self, name: str | None = None) -> int:
        """Empty the named projection (or all) and replay the whole log into it."""
        chosen = [self._projections[name]] if name else list(self._projections.values())
        applied = 0
        for projection in chosen:
            with self._db.transaction() as tx:
                for table in projection.tables:
                    tx.execute(f"DELETE FROM {table}")  # noqa: S608 - names are our constants
                tx.execute("DELETE FROM projection_positions WHERE name = :name",
                           {"name": projection.name})
            applied += self._catch_up(projection, None)
        return applied

    def positions(self) -> dict[str, int]:
        with self._db.transaction() as tx:
            rows = tx.fetchall("SELECT name, position FROM projection_positions")
        found = {row["name"]: row["position"] for row in rows}
        return {name: found.get(name, 0) for name in self._projections}

    def lag(self) -> int:
        """Events in the log that the slowest projection has not applied yet."""
        head = self._store.head()
        return max((head - pos for pos in self.positions().values()), default=0)

    def _catch_up(self, projection: Projection, upto: int | None) -> int:
        applied = 0
        while True:
            with self._db.transaction() as tx:
                position = self._locked_position(tx, projection.name)
                if upto is not None and position >= upto:
                    return applied
                batch = self._store.read_log(position, self._batch_size, upto)
                if not batch:
                    return applied
                projection.apply(tx, batch)
                tx.execute("UPDATE projection_positions SET position = :position "
                           "WHERE name = :name",
                           {"position": batch[-1].position, "name": projection.name})
            applied += len(batch)

    def _locked_position(self, tx: Tx, name: str) -> int:
        tx.execute("INSERT INTO projection_positions (name, position) VALUES (:name, 0) "
                   "ON CONFLICT (name) DO NOTHING", {"name": name})
        row = tx.fetchone("SELECT position FROM projection_positions WHERE name = :name"
                          + self._lock_clause, {"name": name})
        return row["position"]
