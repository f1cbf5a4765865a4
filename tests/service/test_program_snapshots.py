"""Program snapshots (SQLite and PostgreSQL): a process meeting a program reads its
snapshot and the events after it, and gets the state that folding the whole stream gives;
a snapshot the log does not bear out is ignored."""

from datetime import UTC, datetime

import msgspec
import pytest

from ledger import program, service
from ledger.program import ReviseBudget
from ledger.program_snapshots import ProgramSnapshots
from ledger.service import Actor, Ledger
from ledger.storage import open_storage
from ledger.store import EventStore
from tests.keys import KEYRING
from tests.unit.scenario import KOTAMOBAGU_OPENED

ADMIN = Actor("admin-1", "admin")
PROGRAM = KOTAMOBAGU_OPENED.program_id
OPEN = msgspec.convert(msgspec.to_builtins(KOTAMOBAGU_OPENED), type=program.OpenProgram)


def clock() -> datetime:
    return datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


class CountingStore(EventStore):
    """The event store, counting the program events a ledger reads."""

    program_events_read = 0

    def read(self, stream_id, after_version=0):
        events = super().read(stream_id, after_version)
        if stream_id == program.stream_id(PROGRAM):
            self.program_events_read += len(events)
        return events


@pytest.fixture
def storage(db_url, monkeypatch):
    monkeypatch.setattr(service, "SNAPSHOT_EVERY", 3)
    opened = open_storage(db_url)
    yield opened
    opened.close()


def a_process(storage) -> tuple[Ledger, CountingStore]:
    """A ledger as a fresh process has it: nothing folded yet."""
    store = CountingStore(storage, KEYRING)
    return Ledger(store, KEYRING, clock=clock, snapshots=ProgramSnapshots(storage.db)), store


def revisions(ledger: Ledger, count: int) -> None:
    for n in range(count):
        ledger.revise_budget(PROGRAM, ReviseBudget(
            budget_idr={"APBD": 1_000_000_000 + n}, reason="APBD-Perubahan",
            revision_ref=f"DPA-{n}"), ADMIN)


def whole_fold(storage) -> program.Program:
    """The program folded from every event of its stream, with no snapshot."""
    return Ledger(EventStore(storage, KEYRING), KEYRING, clock=clock).program(PROGRAM)


def test_a_new_process_reads_the_snapshot_and_only_the_events_after_it(storage):
    # given a program with seven events, folded by a process that took snapshots
    first, _ = a_process(storage)
    first.open_program(OPEN, ADMIN)
    revisions(first, 6)
    kept = ProgramSnapshots(storage.db).load(PROGRAM)
    assert kept is not None and kept[1] == 6

    # when another process meets the program
    second, store = a_process(storage)
    state = second.program(PROGRAM)

    # then it read only the event after the snapshot, and has the whole fold's state
    assert store.program_events_read == 1
    assert state == whole_fold(storage)
    assert state.budget_idr == {"APBD": 1_000_000_005}


def test_a_snapshot_at_a_version_the_stream_does_not_hold_is_ignored(storage):
    # given a snapshot claiming the stream reached version 99, with a budget never recorded
    ledger, _ = a_process(storage)
    ledger.open_program(OPEN, ADMIN)
    revisions(ledger, 1)
    forged = msgspec.structs.replace(whole_fold(storage), budget_idr={"APBD": 1})
    ProgramSnapshots(storage.db).save(PROGRAM, forged, 99)

    # when a new process meets the program, then it folds the log whole
    second, store = a_process(storage)
    assert second.program(PROGRAM) == whole_fold(storage)
    assert store.program_events_read == 2


def test_a_snapshot_taken_by_other_code_is_ignored_and_taken_again(storage):
    # given a program whose snapshot another shape of the code took
    ledger, _ = a_process(storage)
    ledger.open_program(OPEN, ADMIN)
    revisions(ledger, 3)
    with storage.db.transaction() as tx:
        tx.execute("UPDATE program_snapshots SET shape = 'an older shape', state = '{}'")

    # when a new process meets the program
    second, store = a_process(storage)
    state = second.program(PROGRAM)

    # then it folds the log whole, and keeps a snapshot of this code's shape again
    assert state == whole_fold(storage)
    assert store.program_events_read == 4
    assert ProgramSnapshots(storage.db).load(PROGRAM) == (state, 4)
