"""SQLite, the embedded default: the library's recorder and our Database on one pool.

Writes go through the library's pool so that its single-writer lock also
serialises our projection writes; a write transaction starts with BEGIN
IMMEDIATE so two processes on one file queue on the busy timeout instead of
failing when a reader upgrades to a writer.
"""

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from ledger import chain
from ledger.storage import ChainRow, PositionRow, upsert_sql

_BUSY_TIMEOUT_S = 30

POSITIONS_QUERY = 5000
"""Positions ``read_positions`` asks for a query: under SQLite's 32,766 bound parameters."""

CHAIN_PAGE = 20_000
"""Events ``read_chain`` reads a query: a region's log never sits in memory whole."""


class SQLiteTx:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._cursor.execute(sql, params or {})

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        self._cursor.executemany(sql, rows)

    def fetchall(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        self._cursor.execute(sql, params or {})
        return [dict(row) for row in self._cursor.fetchall()]

    def fetchone(self, sql: str, params: Mapping[str, Any] | None = None) -> dict | None:
        self._cursor.execute(sql, params or {})
        row = self._cursor.fetchone()
        return dict(row) if row is not None else None

    def fetch_bytes(self, sql: str, params: Mapping[str, Any] | None = None) -> bytes | None:
        self._cursor.execute(sql, params or {})
        row = self._cursor.fetchone()
        return None if row is None else bytes(row[0])

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
        params = {f"any_{i}": value for i, value in enumerate(values)}
        return f"{column} IN ({', '.join(':' + name for name in params)})", params

    def insert_many(self, table: str, columns: Sequence[str],
                    rows: Sequence[Mapping[str, Any]]) -> None:
        self._cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)})", rows)

    def upsert_many(self, table: str, columns: Sequence[str], key: Sequence[str],
                    rows: Sequence[Mapping[str, Any]]) -> None:
        self._cursor.executemany(upsert_sql(table, columns, key), rows)


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    """The library's recorder, also chaining every event it writes (``ledger.chain``) in
    ``event_chain``, in the same transaction, which holds SQLite's single writer lock."""

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        if not stored_events:
            return positions
        c.execute("SELECT position, hash FROM event_chain ORDER BY position DESC LIMIT 1")
        row = c.fetchone()
        last, previous = (row[0], bytes(row[1])) if row else (0, chain.GENESIS)
        # Events recorded before the chain existed are chained first, once.
        c.execute("SELECT rowid, originator_id, originator_version, topic, state "
                  "FROM stored_events WHERE rowid > ? AND rowid < ? ORDER BY rowid",
                  (last, positions[0]))
        rows = [(r[0], UUID(r[1]), r[2], r[3], bytes(r[4])) for r in c.fetchall()]
        rows += [(position, UUID(str(e.originator_id)), e.originator_version, e.topic,
                  e.state) for position, e in zip(positions, stored_events, strict=True)]
        c.executemany("INSERT INTO event_chain (position, hash) VALUES (?, ?)",
                      chain.link(previous, rows))
        return positions


class SQLiteDatabase:
    dialect = "sqlite"

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self._datastore = datastore

    @contextmanager
    def transaction(self) -> Iterator[SQLiteTx]:
        with self._datastore.get_connection(commit=True) as conn, _immediate(conn) as tx:
            yield tx

    @contextmanager
    def snapshot(self) -> Iterator[SQLiteTx]:
        with self._datastore.transaction(commit=False) as cursor:
            yield SQLiteTx(cursor)

    def select_streams(self, stream_ids: Sequence[UUID]) -> list[tuple[UUID, int, str, bytes]]:
        ids = [stream_id.hex for stream_id in stream_ids]
        rows = []
        with self._datastore.transaction(commit=False) as cursor:
            for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
                chunk = ids[start : start + 500]
                cursor.execute(
                    "SELECT originator_id, originator_version, topic, state FROM stored_events "
                    f"WHERE originator_id IN ({','.join('?' * len(chunk))}) "
                    "ORDER BY originator_id, originator_version",
                    chunk,
                )
                rows += [(UUID(r[0]), r[1], r[2], bytes(r[3])) for r in cursor.fetchall()]
        return rows

    def read_positions(self, positions: Sequence[int]) -> list[PositionRow]:
        rows: list[PositionRow] = []
        with self._datastore.transaction(commit=False) as cursor:
            for start in range(0, len(positions), POSITIONS_QUERY):
                chunk = positions[start : start + POSITIONS_QUERY]
                cursor.execute(
                    "SELECT rowid, originator_id, originator_version, topic, state "
                    f"FROM stored_events WHERE rowid IN ({','.join('?' * len(chunk))})",
                    list(chunk))
                rows += [(r[0], UUID(r[1]), r[2], r[3], bytes(r[4])) for r in cursor.fetchall()]
        rows.sort(key=lambda row: row[0])
        return rows

    def read_chain(self, after: int, upto: int | None) -> Iterator[ChainRow]:
        bound = "" if upto is None else " AND e.rowid <= :upto"
        with self._datastore.transaction(commit=False) as cursor:
            while True:  # a page at a time: the library's cursor has no fetchmany
                cursor.execute("SELECT e.rowid, e.originator_id, e.originator_version, e.topic, "
                               "e.state, c.hash FROM stored_events e LEFT JOIN event_chain c "
                               f"ON c.position = e.rowid WHERE e.rowid > :after{bound} "
                               "ORDER BY e.rowid LIMIT :page",
                               {"after": after, "upto": upto, "page": CHAIN_PAGE})
                rows = cursor.fetchall()
                if not rows:
                    return
                for position, stream_id, version, topic, state, stored in rows:
                    yield (position, UUID(stream_id).bytes, version, topic, _as_bytes(state),
                           bytes(stored) if stored is not None else None)
                after = rows[-1][0]

    def read_log_part(self, upto: int, type_names: Sequence[str], part: tuple[int, int],
                      batch_size: int) -> Iterator[list[PositionRow]]:
        index, count = part
        after = 0
        while True:
            # A page a transaction, none held between them: the rebuild that reads this
            # writes in between, and the positions up to ``upto`` no longer change.
            with self._datastore.transaction(commit=False) as cursor:
                cursor.execute("SELECT rowid, originator_id, originator_version, topic, state "
                               "FROM stored_events WHERE rowid > ? AND rowid <= ? "
                               f"AND topic IN ({','.join('?' * len(type_names))}) "
                               "ORDER BY rowid LIMIT ?",
                               [after, upto, *type_names, batch_size])
                rows = cursor.fetchall()
            if not rows:
                return
            # The stream's last byte, as PostgreSQL splits the streams.
            yield [(position, stream, version, topic, _as_bytes(state))
                   for position, stream_id, version, topic, state in rows
                   if (stream := UUID(stream_id)).bytes[15] % count == index]
            after = rows[-1][0]

    @contextmanager
    def session(self) -> Iterator["SQLiteSession"]:
        conn = sqlite3.connect(self._datastore.pool.db_name, uri=True, isolation_level=None,
                               timeout=_BUSY_TIMEOUT_S, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        try:
            yield SQLiteSession(conn)
        finally:
            conn.close()

    def close(self) -> None:
        self._datastore.close()


class SQLiteSession:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @contextmanager
    def transaction(self) -> Iterator[SQLiteTx]:
        with _immediate(self._conn) as tx:
            yield tx


@contextmanager
def _immediate(conn: Any) -> Iterator[SQLiteTx]:
    """A write transaction on ``conn`` (the library's or a plain sqlite3 connection)."""
    cursor = conn.cursor()
    cursor.execute("BEGIN IMMEDIATE")
    try:
        yield SQLiteTx(cursor)
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def open_sqlite(path: Path, *, pool_size: int) -> tuple[LedgerSQLiteRecorder, SQLiteDatabase]:
    datastore = SQLiteDatastore(str(path), lock_timeout=_BUSY_TIMEOUT_S, pool_size=pool_size,
                                pool_timeout=_BUSY_TIMEOUT_S)
    return LedgerSQLiteRecorder(datastore), SQLiteDatabase(datastore)


def _as_bytes(value: bytes | str) -> bytes:
    """Stored bytes as written; a tampered row may hold text instead of a blob."""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)
