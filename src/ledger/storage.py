"""Where the ledger keeps its data: one URL picks PostgreSQL or SQLite.

``LEDGER_DATABASE_URL`` is ``postgresql://user:pass@host:port/db`` (production)
or ``sqlite:///relative/path`` / ``sqlite:////absolute/path`` (embedded). A
``Storage`` bundles the eventsourcing library's application recorder (the
event log, optimistic concurrency, global order) with a small ``Database``
handle that projections and batch reads use, both on the same connections.
Schema changes are numbered SQL files under ``migrations/`` applied by yoyo.
"""

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from uuid import UUID

from yoyo import get_backend, read_migrations

from ledger.errors import InvalidInput

Dialect = Literal["postgresql", "sqlite"]
ChainRow = tuple[int, bytes, int, str, bytes, bytes | None]
"""A stored event as the chain covers it: (position, the stream id's 16 bytes, version,
type name, stored bytes, the hash stored beside it or None when it has none)."""
PositionRow = tuple[int, UUID, int, str, bytes]
"""A stored event at a log position: (position, stream id, version, type name, state)."""


def migrations_dir() -> Path:
    """The repository's ``migrations/``; an installed image says where it put them
    with ``LEDGER_MIGRATIONS_DIR``."""
    configured = os.environ.get("LEDGER_MIGRATIONS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "migrations"


class Tx(Protocol):
    """One database transaction. SQL uses ``:name`` parameters on both dialects."""

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None: ...

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def fetchall(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict]: ...

    def fetchone(self, sql: str, params: Mapping[str, Any] | None = None) -> dict | None: ...

    def fetch_bytes(self, sql: str, params: Mapping[str, Any] | None = None) -> bytes | None:
        """The one binary column of the one row ``sql`` selects, or None without a row:
        PostgreSQL sends it as it is, not as hex text (a 30 MB checkpoint: a fifth of the
        time)."""
        ...

    def insert_many(self, table: str, columns: Sequence[str],
                    rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert many rows at once (COPY on PostgreSQL)."""
        ...

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
        """A ``column IN (...)`` condition and its parameters: one array parameter on
        PostgreSQL (long IN lists cost psycopg more to parse than the query costs to run)."""
        ...

    def upsert_many(self, table: str, columns: Sequence[str], key: Sequence[str],
                    rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert or update many rows by ``key`` (staged through COPY on PostgreSQL)."""
        ...


def upsert_sql(table: str, columns: Sequence[str], key: Sequence[str],
               source: str | None = None) -> str:
    """INSERT ... ON CONFLICT (key) DO UPDATE, with an explicit column list; rows come from
    named parameters, or from ``source`` (a staging table with the same columns)."""
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    values = (f"SELECT {names} FROM {source}" if source
              else f"VALUES ({', '.join(':' + c for c in columns)})")
    return (f"INSERT INTO {table} ({names}) {values} "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")


class Session(Protocol):
    """Transactions one after another on one connection of their own."""

    dialect: Dialect

    def transaction(self) -> AbstractContextManager[Tx]:
        """A read-write transaction, as ``Database.transaction``."""
        ...


class Database(Protocol):
    """Never open one of these while holding another: a thread that holds a pooled
    connection and waits for a second can deadlock with one queued for the first."""

    dialect: Dialect

    def transaction(self) -> AbstractContextManager[Tx]:
        """A read-write transaction (on SQLite it holds the single writer slot)."""
        ...

    def snapshot(self) -> AbstractContextManager[Tx]:
        """A read-only transaction: one consistent view, no writer slot taken."""
        ...

    def select_streams(self, stream_ids: Sequence[UUID]) -> list[tuple[UUID, int, str, bytes]]:
        """(stream id, version, type name, state) of every event of these streams, in
        version order per stream: one query for many streams, for batch commands."""
        ...

    def read_positions(self, positions: Sequence[int]) -> list[PositionRow]:
        """The stored events at these log positions, in global order, from one snapshot:
        a scoped replay's read of a few streams' events out of a long log."""
        ...

    def read_chain(self, after: int, upto: int | None) -> Iterator[ChainRow]:
        """Every stored event after position ``after`` (up to ``upto``) in global order,
        beside the chain hash stored for it, all from one snapshot: the audit's read."""
        ...

    def read_log_part(self, upto: int, type_names: Sequence[str], part: tuple[int, int],
                      batch_size: int) -> Iterator[list[PositionRow]]:
        """The stored events up to position ``upto`` whose type is one of ``type_names``
        and whose stream falls in ``part`` (index, count: streams split by their id), in
        global order, about ``batch_size`` at a time: a rebuild lane's share of the log.
        No snapshot is held between batches (the rebuild writes meanwhile)."""
        ...

    def session(self) -> AbstractContextManager[Session]:
        """A connection outside the pool, closed at the end: for work whose TEMP tables
        must outlast a transaction (a projection rebuild). Holding it while using the
        pool is safe, since no one queues for it."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Storage:
    url: str
    dialect: Dialect
    recorder: Any
    """An eventsourcing ``ApplicationRecorder``."""
    db: Database

    def close(self) -> None:
        self.db.close()


def dialect_of(url: str) -> Dialect:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    if url.startswith("sqlite:///"):
        return "sqlite"
    raise InvalidInput(
        "LEDGER_DATABASE_URL must start with postgresql:// or sqlite:///", field="database_url"
    )


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def migrate(url: str) -> list[str]:
    """Apply every pending migration; return the ids applied (empty when current).

    A role that may not migrate (the service's, docs/audit.md) only reads whether the
    schema is current, and is refused by name when it is not: yoyo would have it wait
    for a lock it cannot take (a row it may not write) and fail with "database locked"."""
    dialect = dialect_of(url)
    if dialect == "sqlite":
        sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
    backend, migrations = _yoyo(url)
    try:
        role, may_migrate, has_log = (
            _migration_rights(backend) if dialect == "postgresql" else ("", True, True))
        if may_migrate:
            with backend.lock():
                pending = backend.to_apply(migrations)
                backend.apply_migrations(pending)
            return [m.id for m in pending]
        if has_log and not backend.to_apply(migrations):
            return []
        raise InvalidInput(
            f"database role {role} may not create or alter the ledger's tables, and "
            "migrations are pending: set LEDGER_MIGRATION_DATABASE_URL to the tables' "
            "owner, or run `ledger db upgrade` with it (docs/audit.md)",
            field="LEDGER_MIGRATION_DATABASE_URL")
    finally:
        backend.connection.close()


def _migration_rights(backend: Any) -> tuple[str, bool, bool]:
    """(current role, whether it may migrate, whether the log exists): migrations alter
    the tables, which only their owner may, or create them, in an empty database."""
    return backend.execute(
        "SELECT current_user, coalesce(pg_has_role(relowner, 'USAGE'), "
        "has_schema_privilege(current_schema(), 'CREATE')), relowner IS NOT NULL "
        "FROM (VALUES (to_regclass('stored_events'))) AS log (oid) "
        "LEFT JOIN pg_class USING (oid)").fetchone()


def pending_migrations(url: str) -> list[str]:
    backend, migrations = _yoyo(url)
    try:
        return [m.id for m in backend.to_apply(migrations)]
    finally:
        backend.connection.close()


def _yoyo(url: str) -> tuple[Any, Any]:
    """yoyo's backend for our URL (psycopg 3 needs its ``+psycopg`` scheme) and our
    migrations: the dialect's event store first, then the tables both share."""
    dialect = dialect_of(url)
    backend_url = url if dialect == "sqlite" else "postgresql+psycopg://" + url.split("://", 1)[1]
    root = migrations_dir()
    return get_backend(backend_url), read_migrations(str(root / dialect), str(root / "common"))


def open_storage(url: str, *, apply_migrations: bool = True, migration_url: str | None = None,
                 pool_size: int = 5) -> Storage:
    """Storage on ``url``; pending migrations are applied first, as ``migration_url``
    (the tables' owner) when the service's role is not."""
    if apply_migrations:
        migrate(migration_url or url)
    if dialect_of(url) == "sqlite":
        from ledger.storage_sqlite import open_sqlite

        recorder, db = open_sqlite(sqlite_path(url), pool_size=pool_size)
        return Storage(url=url, dialect="sqlite", recorder=recorder, db=db)
    from ledger.storage_postgres import open_postgres

    recorder, db = open_postgres(url, pool_size=pool_size)
    return Storage(url=url, dialect="postgresql", recorder=recorder, db=db)
