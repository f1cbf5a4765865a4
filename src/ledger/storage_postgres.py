"""PostgreSQL: our bulk-append recorder and the Database handle, on one psycopg pool.

Projection SQL is written with ``:name`` parameters so the same text runs on
SQLite; here it is rewritten once per statement to psycopg's ``%(name)s``.
"""

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from operator import itemgetter
from typing import Any
from uuid import UUID

import psycopg
from psycopg import Connection, Cursor
from psycopg.rows import tuple_row
from psycopg.types.array import ListBinaryDumper

from ledger.postgres_recorder import LedgerPostgresRecorder
from ledger.storage import ChainRow, PositionRow, upsert_sql

_NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")

CHAIN_FETCH = 10_000
"""Events ``read_chain``'s server-side cursor fetches a round trip."""


@lru_cache(maxsize=512)
def to_psycopg(sql: str) -> str:
    return _NAMED_PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


_COLUMN_TYPES: dict[str, dict[str, str]] = {}
"""Per table a COPY wrote, its columns' types (``PostgresTx._column_types``)."""


class PostgresTx:
    def __init__(self, cursor: Cursor) -> None:
        self._cursor = cursor
        # Lists (the ids of ``any_of``) go as binary arrays: as text, thousands of ids cost
        # psycopg more to quote, and the server more to parse, than the query costs.
        cursor.adapters.register_dumper(list, ListBinaryDumper)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._cursor.execute(to_psycopg(sql), params or {})

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self._cursor.executemany(to_psycopg(sql), rows)

    def fetchall(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        self._cursor.execute(to_psycopg(sql), params or {})
        return list(self._cursor.fetchall())

    def fetchone(self, sql: str, params: Mapping[str, Any] | None = None) -> dict | None:
        self._cursor.execute(to_psycopg(sql), params or {})
        return self._cursor.fetchone()

    def fetch_bytes(self, sql: str, params: Mapping[str, Any] | None = None) -> bytes | None:
        self._cursor.execute(to_psycopg(sql), params or {}, binary=True)
        row = self._cursor.fetchone()
        return None if row is None else bytes(next(iter(row.values())))

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
        return f"{column} = ANY(:any_values)", {"any_values": list(values)}

    def insert_many(self, table: str, columns: Sequence[str],
                    rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self._copy(table, columns, rows)

    def upsert_many(self, table: str, columns: Sequence[str], key: Sequence[str],
                    rows: Sequence[Mapping[str, Any]]) -> None:
        """COPY into a session-private staging table, then one INSERT ... SELECT ...
        ON CONFLICT: row-by-row upserts cost a round trip each. The stage is emptied with
        DELETE, not TRUNCATE: truncating gives the table a new file and catalog row each
        time, which cost more than the upsert it prepared."""
        if not rows:
            return
        stage = f"stage_{table}"
        self._cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
                             f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        self._cursor.execute(f"DELETE FROM {stage}")
        self._copy(stage, columns, rows)
        self._cursor.execute(upsert_sql(table, columns, key, source=stage))

    def _copy(self, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
              ) -> None:
        # Binary: psycopg writes a row in less than half the time it takes to format it
        # as text, and the server parses less. A row's values picked in C, not a list
        # built in Python (itemgetter of one column gives the value itself, not a tuple).
        types = self._column_types(table)
        values = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
        with self._cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN "
                               "(FORMAT BINARY)") as copy:
            copy.set_types([types[column] for column in columns])
            for row in rows:
                copy.write_row(values(row))

    def _column_types(self, table: str) -> dict[str, str]:
        """The table's column types, which binary COPY needs: looked up once per table a
        process writes (a shadow or a stage has its live table's), as migrations, which
        alone change them, run before the ledger's processes start."""
        types = _COLUMN_TYPES.get(table)
        if types is None:
            self._cursor.execute("SELECT attname, format_type(atttypid, atttypmod) FROM "
                                 "pg_attribute WHERE attrelid = to_regclass(%(table)s) "
                                 "AND attnum > 0 AND NOT attisdropped", {"table": table})
            types = {row["attname"]: row["format_type"] for row in self._cursor.fetchall()}
            if not types:
                raise LookupError(f"no table {table} to copy rows into")
            _COLUMN_TYPES[table] = types
        return types


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, recorder: LedgerPostgresRecorder) -> None:
        self._datastore = recorder.datastore

    @contextmanager
    def transaction(self) -> Iterator[PostgresTx]:
        with self._datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield PostgresTx(cur)

    @contextmanager
    def snapshot(self) -> Iterator[PostgresTx]:
        with self._datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SET TRANSACTION READ ONLY")
            yield PostgresTx(cur)

    def select_streams(self, stream_ids: Sequence[UUID]) -> list[tuple[UUID, int, str, bytes]]:
        with self._datastore.get_connection() as conn, conn.cursor() as cur:
            # Binary ids and rows: a text uuid[] of a batch's thousands of ids costs more to
            # write and parse than the index lookups, and text bytea doubles every state.
            cur.execute(
                "SELECT originator_id, originator_version, topic, state FROM stored_events "
                "WHERE originator_id = ANY(%b) ORDER BY originator_id, originator_version",
                (list(stream_ids),), binary=True,
            )
            return [
                (r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"]))
                for r in cur.fetchall()
            ]

    def read_positions(self, positions: Sequence[int]) -> list[PositionRow]:
        with self._datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            # Binary positions and rows, as select_streams: text bytea doubles every state
            # and costs its decoding, and a tuple per row costs less than a dict.
            cur.execute("SELECT notification_id, originator_id, originator_version, topic, state "
                        "FROM stored_events WHERE notification_id = ANY(%b)",
                        (list(positions),), binary=True)
            rows = [(position, stream_id, version, topic, bytes(state))
                    for position, stream_id, version, topic, state in cur.fetchall()]
        rows.sort(key=lambda row: row[0])
        return rows

    def read_chain(self, after: int, upto: int | None) -> Iterator[ChainRow]:
        # One server-side cursor in one REPEATABLE READ snapshot, binary tuples: the stream
        # id as its 16 bytes (uuid_send) and no dict per row, since an audit of millions
        # of events is as fast as its per-row cost.
        bound = "" if upto is None else " AND e.notification_id <= %(upto)s"
        with (self._datastore.get_connection() as conn, conn.transaction(),
              conn.cursor(name="read_chain", binary=True, row_factory=tuple_row) as cur):
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur.itersize = CHAIN_FETCH
            cur.execute("SELECT e.notification_id, uuid_send(e.originator_id), "
                        "e.originator_version, e.topic, e.state, c.hash "
                        "FROM stored_events e LEFT JOIN event_chain c "
                        "ON c.position = e.notification_id "
                        f"WHERE e.notification_id > %(after)s{bound} ORDER BY e.notification_id",
                        {"after": after, "upto": upto})
            yield from cur

    def read_log_part(self, upto: int, type_names: Sequence[str], part: tuple[int, int],
                      batch_size: int) -> Iterator[list[PositionRow]]:
        # A window of positions a statement, each its own transaction (the pool's
        # connections commit every statement), no snapshot held across them: a rebuild
        # writes while it reads, and one cursor's snapshot held for the whole scan kept
        # PostgreSQL from pruning any row version the rebuild left behind (a year's
        # payments, rewriting their members' months, grew the table fivefold). The
        # positions up to ``upto`` no longer change: appends are numbered under the
        # writers' lock. A range of positions rather than LIMIT: asked for a few thousand
        # rows with LIMIT, the planner misjudged the part's share and sorted the table.
        index, count = part
        window = batch_size * count  # positions that hold about a batch of the part's
        after, rows = 0, []
        with self._datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            while after < upto:
                last = min(after + window, upto)
                cur.execute("SELECT notification_id, originator_id, originator_version, topic, "
                            "state FROM stored_events "
                            "WHERE notification_id > %(after)s AND notification_id <= %(last)s "
                            "AND topic = ANY(%(types)s) "
                            "AND get_byte(uuid_send(originator_id), 15) %% %(count)s = %(index)s "
                            "ORDER BY notification_id",
                            {"after": after, "last": last, "types": list(type_names),
                             "count": count, "index": index}, binary=True)
                rows += [(position, stream_id, version, topic, bytes(state))
                         for position, stream_id, version, topic, state in cur.fetchall()]
                after = last
                if len(rows) >= batch_size or (rows and after >= upto):
                    yield rows
                    rows = []

    @contextmanager
    def session(self) -> Iterator["PostgresSession"]:
        pool = self._datastore.pool  # the library's pool: its connection settings
        with psycopg.connect(pool.conninfo, autocommit=True, **pool.kwargs) as conn:
            yield PostgresSession(conn)

    def close(self) -> None:
        self._datastore.close()


class PostgresSession:
    dialect = "postgresql"

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @contextmanager
    def transaction(self) -> Iterator[PostgresTx]:
        with self._conn.transaction(), self._conn.cursor() as cur:
            yield PostgresTx(cur)


def open_postgres(url: str, *, pool_size: int) -> tuple[LedgerPostgresRecorder, PostgresDatabase]:
    recorder = LedgerPostgresRecorder.from_url(url, pool_size=pool_size)
    return recorder, PostgresDatabase(recorder)
