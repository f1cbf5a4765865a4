"""The event store contract, run on SQLite and on PostgreSQL alike."""

import threading
import uuid
from datetime import UTC, datetime

import pytest

from ledger.errors import ConcurrencyConflict
from ledger.events import EventMeta, SeatAllocated, SeatReleased
from ledger.storage import open_storage, pending_migrations
from ledger.store import EventStore, StreamWrite
from tests.keys import KEYRING

META = EventMeta(actor_id="clerk-1", actor_role="enrollment_clerk",
                 recorded_at=datetime(2024, 3, 1, 8, 0, tzinfo=UTC), command_id="cmd-1")


@pytest.fixture
def storage(db_url):
    storage = open_storage(db_url)
    yield storage
    storage.close()


@pytest.fixture
def store(storage):
    return EventStore(storage, KEYRING)


def seat(n: int) -> SeatAllocated:
    return SeatAllocated(participant_id=f"p{n}", cohort="informal")


def test_migrations_create_every_table_and_then_nothing_is_pending(db_url):
    open_storage(db_url).close()
    assert pending_migrations(db_url) == []


def test_appended_events_read_back_with_their_meta_and_versions(store):
    stream = uuid.uuid4()

    positions = store.append([StreamWrite(stream, 0, [seat(1), seat(2)])], META)

    recorded = store.read(stream)
    assert [r.event for r in recorded] == [seat(1), seat(2)]
    assert [r.version for r in recorded] == [1, 2]
    assert recorded[0].meta == META
    assert positions == [1, 2]


def test_the_log_is_in_global_order_across_streams(store):
    a, b = uuid.uuid4(), uuid.uuid4()
    store.append([StreamWrite(a, 0, [seat(1)])], META)
    store.append([StreamWrite(b, 0, [seat(2)]), StreamWrite(a, 1, [seat(3)])], META)

    log = store.read_log(after=0, limit=10)

    assert [(r.position, r.stream_id, r.event) for r in log] == [
        (1, a, seat(1)), (2, b, seat(2)), (3, a, seat(3))]
    assert store.head() == 3
    assert [r.position for r in store.read_log(after=1, limit=1)] == [2]
    assert [r.position for r in store.read_log(after=0, limit=10, upto=2)] == [1, 2]


def test_reading_many_streams_at_once_returns_each_in_version_order(store):
    a, b, never = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    store.append([StreamWrite(a, 0, [seat(1), seat(2)]), StreamWrite(b, 0, [seat(3)])], META)

    streams = store.read_many([a, b, never])

    assert [r.event for r in streams[a]] == [seat(1), seat(2)]
    assert [r.event for r in streams[b]] == [seat(3)]
    assert never not in streams


def test_a_stale_writer_loses_and_nothing_of_its_batch_is_written(store):
    a, b = uuid.uuid4(), uuid.uuid4()
    store.append([StreamWrite(a, 0, [seat(1)])], META)

    with pytest.raises(ConcurrencyConflict):
        store.append([StreamWrite(b, 0, [seat(2)]), StreamWrite(a, 0, [seat(3)])], META)

    assert store.read(b) == []
    assert [r.event for r in store.read(a)] == [seat(1)]


def test_two_writers_on_one_stream_cannot_both_win(store):
    stream = uuid.uuid4()
    store.append([StreamWrite(stream, 0, [seat(0)])], META)
    start = threading.Barrier(2)
    outcomes = []

    def write(n: int) -> None:
        start.wait()
        try:
            store.append([StreamWrite(stream, 1, [SeatReleased(participant_id=f"p{n}",
                                                               cohort="informal")])], META)
            outcomes.append("won")
        except ConcurrencyConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=write, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["conflict", "won"]
    assert len(store.read(stream)) == 2


def test_stored_events_carry_stable_type_names_not_module_paths(storage, store):
    store.append([StreamWrite(uuid.uuid4(), 0, [seat(1)])], META)

    (notification,) = storage.recorder.select_notifications(start=1, limit=1)

    assert notification.topic == "program.seat_allocated.v1"
    assert notification.state.startswith(b'{"meta":{"actor_id":"clerk-1"')
