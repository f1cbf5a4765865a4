"""A PostgreSQL application recorder that appends in bulk with explicit notification ids.

Why this exists: bulk imports. The eventsourcing library's
``PostgresApplicationRecorder.insert_events`` sends every batch as one
``INSERT ... SELECT FROM unnest(composite[])``. Measured here, 70,000 events of
~100 bytes in batches of 1,000: the library's insert does about 50,000 events/s
(about 13,000 with 2 KB states; an earlier, other measurement gave ~18,500),
binary ``COPY ... FROM STDIN`` about 170,000 (about 76,000 with 2 KB states).
So batches of ``copy_threshold`` events or more go through COPY, smaller ones
through one multi-row INSERT (for a single row, COPY's set-up costs more than it
saves; from about ten rows COPY is at least as fast).

Why notification ids are explicit: the library lets the ``bigserial`` column pick
them. We read ``max(notification_id)`` under the writers' lock and number
the rows ourselves, max+1, max+2, ... in the order given, so the position of
every row is known *before* it is written, and each is chained to its predecessor
by a hash over its bytes and position (``ledger.chain``) in ``event_chain``, right
here, under the lock, in the same transaction. The sequence is moved along with
``setval`` so it never lags the ids we chose.

Reading the log (``select_notifications``) is the library's query with binary
rows: as text every state travels hex-encoded, twice its size, and projections
read the whole log. Everything else (reading streams, subscriptions, the lock,
NOTIFY, error mapping and retries) is the library's. The table comes from our
migration (migrations/postgresql/0001_event_store.sql), never from
``create_table()``, and no composite type is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID

from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresProcessRecorder,
)
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from ledger import chain

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Self

    from eventsourcing.persistence import StoredEvent
    from psycopg import Cursor
    from psycopg.rows import DictRow

_COLUMNS = ("originator_id", "originator_version", "topic", "state", "notification_id")
# PostgreSQL's limit on bind parameters in one statement; above it only COPY works.
_MAX_BIND_PARAMS = 65535

Row = tuple[Any, int, str, bytes, int]


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        copy_threshold: int = 64,
        **kwargs: Any,  # events_table_name, and tracking_table_name for the process recorder
    ) -> None:
        if copy_threshold < 1:
            raise ValueError(f"copy_threshold must be at least 1, not {copy_threshold}")
        super().__init__(datastore, **kwargs)
        self.copy_threshold = copy_threshold
        # Writers queue up one at a time so that positions commit in the order they are
        # given (see the library's _lock_table). The library takes LOCK TABLE ... IN
        # EXCLUSIVE MODE for that, which PostgreSQL before 17 grants only to a role that
        # may UPDATE, DELETE or TRUNCATE the table: a transaction-scoped advisory lock
        # on the table's name serialises our writers the same way (every writer is this
        # recorder) and lets the service's role hold no right to change history.
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(self.datastore.lock_timeout),
            SQL("SELECT pg_advisory_xact_lock(hashtextextended({0}, 0))").format(
                f"{self.datastore.schema}.{self.events_table_name}"),
        ]
        table = SQL("{}.{}").format(
            Identifier(self.datastore.schema), Identifier(self.events_table_name)
        )
        columns = SQL(", ").join(map(Identifier, _COLUMNS))
        self._copy_statement = SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(table, columns)
        self._copy_types = [self.datastore.originator_id_type, "int8", "text", "bytea", "int8"]
        self._insert_prefix = SQL("INSERT INTO {} ({}) VALUES ").format(table, columns)
        self._insert_statements: dict[int, Composed] = {}  # one per batch size
        # pg_get_serial_sequence() parses its argument as a (quoted) table name.
        self._qualified_table_name = ".".join(
            '"' + name.replace('"', '""') + '"'
            for name in (self.datastore.schema, self.events_table_name)
        )
        self._setval_statement = SQL(
            "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)"
        )
        self._select_prefix = SQL("SELECT {} FROM {}").format(columns, table)
        chain_table = SQL("{}.{}").format(Identifier(self.datastore.schema),
                                          Identifier("event_chain"))
        self._chain_copy_statement = SQL(
            "COPY {} (position, hash) FROM STDIN (FORMAT BINARY)").format(chain_table)
        self._last_link_statement = SQL(
            "SELECT position, hash FROM {} ORDER BY position DESC LIMIT 1").format(chain_table)
        self._unchained_statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
            "WHERE notification_id > %s AND notification_id < %s "
            "ORDER BY notification_id").format(table)

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 5, copy_threshold: int = 64) -> Self:
        """Recorder on ``postgresql://user:pass@host:port/dbname`` (password may be empty;
        ``?host=/socket/dir`` is honoured, as pgserver's URLs use it)."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(f"not a postgresql:// URL: {url!r}")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        dbname = unquote(parts.path.lstrip("/")) or query.get("dbname", "")
        if not dbname:
            raise ValueError(f"no database name in {url!r}")
        datastore = PostgresDatastore(
            dbname=dbname,
            host=unquote(parts.hostname or "") or query.get("host", "127.0.0.1"),
            port=parts.port or query.get("port", 5432),
            user=unquote(parts.username or "") or query.get("user", "postgres"),
            password=unquote(parts.password or "") or query.get("password", ""),
            pool_size=pool_size,
            # No stored procedures and no composite types: our insert path needs neither.
            enable_db_functions=False,
        )
        return cls(datastore, copy_threshold=copy_threshold)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        # The datastore's get_connection() maps psycopg errors to the library's:
        # a primary-key violation (two writers of one originator_version, i.e.
        # optimistic concurrency) surfaces as eventsourcing IntegrityError, a lock
        # timeout or dropped connection as OperationalError/InterfaceError, which
        # @retry re-runs from the start (the failed transaction was rolled back).
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            # The library's hook: the process recorder writes its tracking row here,
            # in the same transaction as the events.
            self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return []
            # The writers' lock (see __init__): writers queue up, readers don't, so
            # ids are committed in the order they are issued.
            self._lock_table(curs)
            self._notify_channel(curs)  # wakes the library's subscriptions
            curs.execute(self.max_notification_id_statement)
            row = curs.fetchone()
            assert row is not None
            first_id = (row["max"] or 0) + 1
            rows = self._rows_for(stored_events, first_id)
            if len(rows) >= self.copy_threshold or len(rows) * len(_COLUMNS) > _MAX_BIND_PARAMS:
                self._copy_rows(curs, rows)
            else:
                self._insert_rows(curs, rows)
            self._write_chain(curs, self._hash_before(curs, first_id), rows)
            last_id = first_id + len(rows) - 1
            # Keep the bigserial's sequence level with the ids we chose, so anything
            # that still relies on the column default never collides with them.
            curs.execute(self._setval_statement, (self._qualified_table_name, last_id))
        return list(range(first_id, last_id + 1))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        """The library's query and result, read in binary (see the module docstring)."""
        conditions: list[SQL] = []
        params: list[Any] = []
        if start is not None:
            conditions.append(SQL("notification_id >= %s" if inclusive_of_start
                                  else "notification_id > %s"))
            params.append(start)
        if stop is not None:
            conditions.append(SQL("notification_id <= %s"))
            params.append(stop)
        if topics:
            conditions.append(SQL("topic = ANY(%s)"))
            params.append(list(topics))
        statement = self._select_prefix
        if conditions:
            statement += SQL(" WHERE ") + SQL(" AND ").join(conditions)
        statement += SQL(" ORDER BY notification_id LIMIT %s")
        params.append(limit)
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, params, prepare=True, binary=True)
            return [
                Notification(id=notification_id, originator_id=originator_id,
                             originator_version=version, topic=topic, state=state)
                for originator_id, version, topic, state, notification_id in curs.fetchall()
            ]

    def _rows_for(self, stored_events: Sequence[StoredEvent], first_id: int) -> list[Row]:
        """The rows to write, numbered from first_id in the order given.

        Runs under the table lock, so first_id - 1 is the last row in the log; the
        chain is written right after from these rows (``_write_chain``).
        """
        uuid_ids = self.datastore.originator_id_type == "uuid"
        rows: list[Row] = []
        for notification_id, e in enumerate(stored_events, start=first_id):
            originator_id = e.originator_id
            if uuid_ids and isinstance(originator_id, str):
                # The library accepts UUIDs as str too; binary COPY takes only UUID.
                originator_id = UUID(originator_id)
            rows.append((originator_id, e.originator_version, e.topic, e.state, notification_id))
        return rows

    def _hash_before(self, curs: Cursor[DictRow], first_id: int) -> bytes:
        """The chain's hash of event first_id - 1. Events recorded before the chain
        existed (a log migrated from an earlier version) are chained here first, once,
        under the same lock."""
        curs.execute(self._last_link_statement)
        row = curs.fetchone()
        last, previous = (row["position"], bytes(row["hash"])) if row else (0, chain.GENESIS)
        if last < first_id - 1:
            curs.execute(self._unchained_statement, (last, first_id))
            backlog = [(r["notification_id"], r["originator_id"], r["originator_version"],
                        r["topic"], bytes(r["state"])) for r in curs.fetchall()]
            previous = self._write_chain(curs, previous, [
                (sid, version, topic, state, position)
                for position, sid, version, topic, state in backlog])
        return previous

    def _write_chain(self, curs: Cursor[DictRow], previous: bytes, rows: list[Row]) -> bytes:
        """Chain the rows just written to the log; return the last hash. Each hash is
        ``chain.event_hash`` of its row, computed as the rows go out (``raw_hash`` on the
        id's bytes): no second list of a batch's rows."""
        with curs.copy(self._chain_copy_statement) as copy:
            copy.set_types(["int8", "bytea"])
            for sid, version, topic, state, position in rows:
                stream = (sid if isinstance(sid, UUID) else UUID(sid)).bytes
                previous = chain.raw_hash(previous, position, stream, version,
                                          topic.encode("utf-8"), state)
                copy.write_row((position, previous))
        return previous

    def _copy_rows(self, curs: Cursor[DictRow], rows: list[Row]) -> None:
        # Binary COPY: no text escaping of state, measurably faster than text.
        with curs.copy(self._copy_statement) as copy:
            copy.set_types(self._copy_types)
            for row in rows:
                copy.write_row(row)

    def _insert_rows(self, curs: Cursor[DictRow], rows: list[Row]) -> None:
        statement = self._insert_statements.get(len(rows))
        if statement is None:
            values = SQL("({})").format(SQL(", ").join([SQL("%s")] * len(_COLUMNS)))
            statement = self._insert_prefix + SQL(", ").join([values] * len(rows))
            self._insert_statements[len(rows)] = statement
        curs.execute(statement, [value for row in rows for value in row])


class LedgerPostgresProcessRecorder(LedgerPostgresRecorder, PostgresProcessRecorder):
    """The library's process recorder (events + tracking row in one transaction)
    with our insert path: LedgerPostgresRecorder.insert_events comes first in the
    MRO and calls the library's _insert_events hook, which writes the tracking row.
    The tracking table is not ours to migrate yet: create it with the library's
    PostgresTrackingRecorder(datastore).create_table()."""
