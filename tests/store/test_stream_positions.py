"""Reading some streams' part of the log (what an as-of replay reads), on SQLite and on
PostgreSQL alike: the positions of their events up to a point, and the events at those
positions, in global order."""

import uuid

from ledger.store import CHUNK, StreamWrite
from tests.store.test_event_store import META, seat, storage, store

__all__ = ["storage", "store"]  # the event store contract's fixtures, used here


def test_the_positions_of_some_streams_up_to_a_point_in_global_order(store):
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    store.append([StreamWrite(a, 0, [seat(1)])], META)  # 1
    store.append([StreamWrite(b, 0, [seat(2)]), StreamWrite(c, 0, [seat(3)])], META)  # 2, 3
    store.append([StreamWrite(a, 1, [seat(4)]), StreamWrite(b, 1, [seat(5)])], META)  # 4, 5
    store.append([StreamWrite(c, 1, [seat(6)]), StreamWrite(a, 2, [seat(7)])], META)  # 6, 7

    assert store.positions_of({a, c}, upto=6) == [1, 3, 4, 6]
    assert store.positions_of({b}, upto=store.head()) == [2, 5]
    assert store.positions_of({uuid.uuid4()}, upto=store.head()) == []
    assert store.positions_of(set(), upto=store.head()) == []


def test_the_events_at_positions_read_back_in_global_order_with_their_streams(store):
    a, b = uuid.uuid4(), uuid.uuid4()
    store.append([StreamWrite(a, 0, [seat(1)]), StreamWrite(b, 0, [seat(2)])], META)
    store.append([StreamWrite(a, 1, [seat(3)])], META)

    recorded = store.read_positions([3, 1])

    assert [(r.position, r.stream_id, r.version, r.event) for r in recorded] == [
        (1, a, 1, seat(1)), (3, a, 2, seat(3))]
    assert recorded[0].meta == META
    assert store.read_positions([]) == []


def test_more_streams_than_one_query_takes_are_all_found(store):
    streams = [uuid.uuid4() for _ in range(CHUNK + 3)]
    store.append([StreamWrite(stream, 0, [seat(n)]) for n, stream in enumerate(streams)], META)

    positions = store.positions_of(streams[1:], upto=store.head())

    assert positions == list(range(2, CHUNK + 4))
    assert [r.stream_id for r in store.read_positions(positions)] == streams[1:]
