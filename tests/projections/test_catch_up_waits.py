"""A read catches up only the projections it needs, and never queues behind another
runner's lock on the projections' positions: it waits for that runner's commit by looking
at the positions again, and applies itself only what nobody is applying."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from ledger.program import OpenProgram, ReviseQuota
from ledger.service import Actor
from ledger.settings import Settings
from ledger.system import System, open_system, read_models
from projections import runner, views
from tests.projections.wrapping import Wrapped
from tests.unit.scenario import KOTAMOBAGU_OPENED, siti

CLERK = Actor("clerk-1", "enrollment_clerk")
PROGRAM = "kotamobagu-2024"
LOCK_POSITIONS = "SELECT name FROM projection_positions ORDER BY name FOR UPDATE"
WAITING_ON_A_LOCK = ("SELECT count(*) AS waiting FROM pg_stat_activity "
                     "WHERE datname = current_database() AND wait_event_type = 'Lock'")


@contextmanager
def opened(url: str, data_dir: Path) -> Iterator[System]:
    with open_system(Settings(database_url=url, data_dir=data_dir)) as system:
        system.ledger._clock = lambda: datetime(2024, 6, 1, 9, tzinfo=UTC)
        system.ledger.open_program(msgspec.convert(msgspec.to_builtins(KOTAMOBAGU_OPENED),
                                                   type=OpenProgram), CLERK)
        system.projections.catch_up()
        yield system


@pytest.fixture
def system(db_url, tmp_path):
    with opened(db_url, tmp_path) as system:
        yield system


@pytest.fixture
def pg_system(pg_service_url, tmp_path):
    """On SQLite a write transaction is the one writer slot: no row locks to wait on."""
    with opened(pg_service_url, tmp_path) as system:
        yield system


def test_a_read_catches_up_only_the_projections_it_needs_and_the_rest_follow_once(system):
    # Given a submission not applied yet
    system.ledger.submit(PROGRAM, siti(), CLERK)
    head = system.store.head()

    # When a participant read catches up the participants projection alone
    assert system.projections.catch_up(only=("participants",)) == 1

    # Then that one is at the head and the others are where they were
    positions = system.projections.positions()
    assert positions.pop("participants") == head
    assert set(positions.values()) == {head - 1}

    # And the next full catch-up applies the submission to the others, and to it not again
    assert system.projections.catch_up() == 1
    assert set(system.projections.positions().values()) == {head}
    assert views.program_summary(system.storage.db, PROGRAM)["totals"]["submitted"] == 1
    assert [row["submissions"] for row in views.participants(system.storage.db, PROGRAM)] == [1]


def test_a_read_of_one_stream_catches_up_to_that_stream_s_last_event_not_the_head(system):
    # Given Siti's submission, then her neighbour's, neither applied yet
    siti_id = system.ledger.submit(PROGRAM, siti(), CLERK).participant_id
    system.ledger.submit(PROGRAM, siti(nik="7174014503850002", full_name="Rini Mokoagow"),
                         CLERK)
    head = system.store.head()

    # When Siti's page catches the participants projection up with her stream
    assert system.projections.catch_up_with(siti_id, only=("participants",)) == 1

    # Then her row is there, and her neighbour's submission is left to the worker
    assert system.projections.positions()["participants"] == head - 1
    assert views.participant(system.storage.db, PROGRAM, str(siti_id))["submissions"] == 1
    assert len(views.participants(system.storage.db, PROGRAM)) == 1


def test_a_catch_up_reads_only_the_events_its_projections_apply_and_passes_the_rest(system):
    # Given a submission and then a revision of the program's quota, neither applied yet
    system.ledger.submit(PROGRAM, siti(), CLERK)
    system.ledger.revise_quota(PROGRAM, ReviseQuota(quota_total=8000, reason="APBD-P",
                                                    revision_ref="Perda 7/2024"), CLERK)
    head = system.store.head()

    # When the programs projection alone is caught up
    applied = system.projections.catch_up(only=("programs",))

    # Then it read the revision and not the submission, which it does not apply, and it
    # stands at the head past both
    assert applied == 1
    assert system.projections.positions()["programs"] == head
    assert views.program_summary(system.storage.db, PROGRAM)["quota_total"] == 8000
    # And the participants, caught up next, still get the submission they apply
    assert system.projections.catch_up(only=("participants",)) == 1
    assert [row["submissions"] for row in views.participants(system.storage.db, PROGRAM)] == [1]


@pytest.mark.postgres
def test_a_catch_up_waits_for_the_runner_holding_the_positions_without_queueing(
        pg_system, monkeypatch):
    system = pg_system
    # Given a submission not applied yet, and another runner holding the positions
    system.ledger.submit(PROGRAM, siti(), CLERK)
    head = system.store.head()
    polled = polls_seen(monkeypatch)
    with system.storage.db.session() as other, other.transaction() as holding:
        holding.execute(LOCK_POSITIONS)

        # When a read catches up meanwhile
        reader, applied = catching_up(system)
        assert polled.wait(30), "the read never looked again"

        # Then it is waiting by looking again, not in the lock's queue
        assert reader.is_alive()
        assert holding.fetchone(WAITING_ON_A_LOCK)["waiting"] == 0
    # And once the other runner lets go without applying, it applies the submission itself
    reader.join()
    assert applied == [1]
    assert min(system.projections.positions().values()) == head


def polls_seen(monkeypatch) -> threading.Event:
    """Set once a runner waits by looking at the positions again (it sleeps between looks)."""
    polled, real_sleep = threading.Event(), runner.time.sleep

    def sleep(seconds: float) -> None:
        polled.set()
        real_sleep(seconds)

    monkeypatch.setattr(runner.time, "sleep", sleep)
    return polled


def catching_up(system) -> tuple[threading.Thread, list[int]]:
    """A read's catch-up started in a thread; the list gets what it applied."""
    applied: list[int] = []
    reader = threading.Thread(target=lambda: applied.append(system.projections.catch_up()))
    reader.start()
    return reader, applied


class Paused(Wrapped):
    """A projection that, applying a batch, waits until the test lets it go on."""

    def __init__(self, projection) -> None:
        super().__init__(projection)
        self.applying, self.go_on = threading.Event(), threading.Event()

    def apply(self, tx, batch) -> None:
        self.applying.set()
        self.go_on.wait()
        self._projection.apply(tx, batch)


@pytest.mark.postgres
def test_a_catch_up_applies_nothing_that_another_runner_applied_while_it_waited(
        pg_system, monkeypatch):
    system = pg_system
    # Given a submission, and a worker in the middle of applying it
    system.ledger.submit(PROGRAM, siti(), CLERK)
    head = system.store.head()
    first, *rest = read_models(system.keyring)
    paused = Paused(first)
    worker = runner.ProjectionRunner(system.store, system.storage.db, [paused, *rest])
    by_worker: list[int] = []
    working = threading.Thread(target=lambda: by_worker.append(worker.catch_up()))
    working.start()
    assert paused.applying.wait(30), "the worker never began applying"
    polled = polls_seen(monkeypatch)

    # When a read catches up meanwhile, and the worker then finishes
    reader, applied = catching_up(system)
    assert polled.wait(30), "the read never looked again"
    paused.go_on.set()
    working.join()
    reader.join()

    # Then the read returned once the worker's positions passed the head, having applied
    # nothing itself: the submission was applied once, by the worker
    assert by_worker == [1] and applied == [0]
    assert min(system.projections.positions().values()) == head
    assert views.program_summary(system.storage.db, PROGRAM)["totals"]["submitted"] == 1
