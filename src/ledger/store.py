"""The event store: our events in and out of the eventsourcing library's recorder.

Callers see streams of domain events and log positions, never the library's
types. An append of several streams (an enrollment and its quota seat) is one
transaction; a stream whose version moved since it was read makes the whole
append fail with ``ConcurrencyConflict``, because the library's recorder
refuses a second event at the same (stream, version).
"""

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import NamedTuple
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent

from ledger.codec import EventCodec
from ledger.errors import ConcurrencyConflict
from ledger.events import PERSONAL_FIELDS, Event, EventMeta, PersonalFields, type_names
from ledger.personal_data import Keyring
from ledger.storage import Storage

CHUNK = 5000
"""Ids or positions per query: under SQLite's 32,766 bound parameters."""


class Recorded(NamedTuple):
    """An event as the log holds it. ``position`` is its place in the global order
    (None when read from a single stream, where the library does not return it). Its
    personal fields are opened, save those its reader left sealed (``read_log``).
    ``type_name`` is the type the log holds it under: the event's own ``TYPE``, or a
    superseded name read into the same class (``events.SUPERSEDED_TYPES``)."""

    position: int | None
    stream_id: UUID
    version: int
    event: Event
    meta: EventMeta
    type_name: str


class StreamWrite(NamedTuple):
    stream_id: UUID
    expected_version: int
    """The version the decision was made on; 0 for a new stream."""
    events: Sequence[Event]


class EventStore:
    def __init__(self, storage: Storage, keyring: Keyring) -> None:
        self._recorder = storage.recorder
        self._db = storage.db
        self._codec = EventCodec(keyring)
        self.keyring = keyring
        """What the log's personal data is sealed with: projections over it need it too."""

    def read(self, stream_id: UUID, after_version: int = 0) -> list[Recorded]:
        return [
            self._recorded(None, s.originator_id, s.originator_version, s.topic, s.state)
            for s in self._recorder.select_events(stream_id, gt=after_version or None)
        ]

    def holds(self, stream_id: UUID, version: int) -> bool:
        """Whether the stream has an event at ``version`` (versions count up from 1)."""
        return bool(self._recorder.select_events(stream_id, gt=version - 1, lte=version,
                                                 limit=1))

    def read_many(self, stream_ids: Iterable[UUID]) -> dict[UUID, list[Recorded]]:
        """Every event of many streams in one round trip (batch commands, imports)."""
        streams: dict[UUID, list[Recorded]] = defaultdict(list)
        for stream_id, version, type_name, state in self._db.select_streams(list(stream_ids)):
            streams[stream_id].append(self._recorded(None, stream_id, version, type_name, state))
        return streams

    def append(self, writes: Sequence[StreamWrite], meta: EventMeta) -> list[int]:
        """Append atomically; return the log positions given to the new events."""
        stored = [
            StoredEvent(
                originator_id=write.stream_id,
                originator_version=write.expected_version + offset,
                topic=type_name,
                state=state,
            )
            for write in writes
            for offset, (type_name, state) in enumerate(
                (self._codec.encode(event, meta) for event in write.events), start=1
            )
        ]
        if not stored:
            return []
        try:
            return list(self._recorder.insert_events(stored) or [])
        except IntegrityError:
            raise ConcurrencyConflict(
                "another command changed this record at the same time; read it again and retry"
            ) from None

    def read_log(self, after: int, limit: int, upto: int | None = None,
                 opened: PersonalFields = PERSONAL_FIELDS,
                 types: tuple[type[Event], ...] = ()) -> list[Recorded]:
        """Events in global order with positions in (after, upto], at most ``limit``; with
        the personal fields of ``opened`` opened (``EventCodec.decode``); only those of
        ``types`` when given (the others are never decoded)."""
        notifications = self._recorder.select_notifications(
            start=after, limit=limit, stop=upto, topics=type_names(types) if types else (),
            inclusive_of_start=False
        )
        return [
            self._recorded(n.id, n.originator_id, n.originator_version, n.topic, n.state,
                           opened)
            for n in notifications
        ]

    def read_log_part(self, upto: int, types: tuple[type[Event], ...], part: tuple[int, int],
                      batch_size: int, opened: PersonalFields = PERSONAL_FIELDS
                      ) -> Iterator[list[Recorded]]:
        """The events of ``types`` up to ``upto`` whose streams fall in ``part`` (index,
        count), in global order, a batch at a time (``Database.read_log_part``): events of
        other types are never decoded."""
        for rows in self._db.read_log_part(upto, type_names(types), part, batch_size):
            if rows:
                yield [self._recorded(position, stream_id, version, type_name, state, opened)
                       for position, stream_id, version, type_name, state in rows]

    def head(self) -> int:
        """Position of the newest event (0 for an empty log)."""
        return self._recorder.max_notification_id() or 0

    def positions_of(self, stream_ids: Collection[UUID], upto: int, after: int = 0
                     ) -> list[int]:
        """The log positions of every event of these streams after ``after`` up to
        ``upto``, ascending. Found through the streams' key, so a replay of one program's
        streams out of a long log reads their events without walking everyone else's."""
        keys = [self._stream_key(stream_id) for stream_id in stream_ids]
        position = self._position_column()
        found: list[int] = []
        with self._db.snapshot() as tx:
            for start in range(0, len(keys), CHUNK):
                condition, params = tx.any_of("originator_id", keys[start:start + CHUNK])
                found += [row["position"] for row in tx.fetchall(
                    f"SELECT {position} AS position FROM stored_events "
                    f"WHERE {condition} AND {position} > :after AND {position} <= :upto",
                    {**params, "after": after, "upto": upto})]
        return sorted(found)

    def last_position(self, stream_id: UUID) -> int:
        """The log position of the stream's last event; 0 for a stream with none."""
        position = self._position_column()
        with self._db.snapshot() as tx:
            row = tx.fetchone(f"SELECT MAX({position}) AS position FROM stored_events "
                              "WHERE originator_id = :stream",
                              {"stream": self._stream_key(stream_id)})
        return row["position"] or 0

    def read_positions(self, positions: Sequence[int],
                       opened: PersonalFields = PERSONAL_FIELDS) -> list[Recorded]:
        """The events at these log positions, in global order (``opened`` as in
        ``read_log``)."""
        return [self._recorded(position, stream_id, version, type_name, state, opened)
                for position, stream_id, version, type_name, state
                in self._db.read_positions(positions)]

    def _position_column(self) -> str:
        """The library keeps a log position in ``notification_id`` on PostgreSQL and in
        the rowid on SQLite."""
        return "notification_id" if self._db.dialect == "postgresql" else "rowid"

    def _stream_key(self, stream_id: UUID) -> UUID | str:
        """A stream id as the library stores it: a uuid on PostgreSQL, hex text on SQLite."""
        return stream_id if self._db.dialect == "postgresql" else stream_id.hex

    def _recorded(self, position: int | None, stream_id: UUID, version: int, type_name: str,
                  state: bytes, opened: PersonalFields = PERSONAL_FIELDS) -> Recorded:
        event, meta = self._codec.decode(type_name, state, opened)
        return Recorded(position, stream_id, version, event, meta, type_name)
