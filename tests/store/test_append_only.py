"""The log refuses to be changed by the database itself, on SQLite and PostgreSQL alike."""

import uuid
from datetime import UTC, datetime

import pytest

from ledger.events import EventMeta, SeatAllocated
from ledger.storage import open_storage
from ledger.store import EventStore, StreamWrite
from tests.keys import KEYRING

META = EventMeta(actor_id="clerk-1", actor_role="enrollment_clerk",
                 recorded_at=datetime(2024, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def storage(owner_db_url):
    storage = open_storage(owner_db_url)
    yield storage
    storage.close()


@pytest.mark.parametrize("statement", [
    "UPDATE stored_events SET topic = 'program.seat_released.v1'",
    "DELETE FROM stored_events",
])
def test_a_recorded_event_can_be_neither_edited_nor_deleted(storage, statement):
    store = EventStore(storage, KEYRING)
    stream = uuid.uuid4()
    store.append([StreamWrite(stream, 0, [SeatAllocated(participant_id="p1",
                                                         cohort="informal")])], META)

    with pytest.raises(Exception, match="append-only") as refused:
        with storage.db.transaction() as tx:
            tx.execute(statement)

    assert "refused" in str(refused.value)
    (kept,) = store.read(stream)
    assert kept.event == SeatAllocated(participant_id="p1", cohort="informal")


def test_the_log_cannot_be_truncated_on_postgresql(pg_url):
    storage = open_storage(pg_url)
    try:
        EventStore(storage, KEYRING).append([StreamWrite(uuid.uuid4(), 0, [SeatAllocated(
            participant_id="p1", cohort="informal")])], META)
        with pytest.raises(Exception, match="append-only: TRUNCATE refused"):
            with storage.db.transaction() as tx:
                tx.execute("TRUNCATE stored_events")
        assert EventStore(storage, KEYRING).head() == 1
    finally:
        storage.close()
