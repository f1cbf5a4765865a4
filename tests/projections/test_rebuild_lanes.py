"""A rebuild on PostgreSQL replays the log in lanes side by side (projections.lanes).

The participants' streams are split among lanes, each keeping its own copy of their
tables; the other projections share a lane that never reads past what the
participants' lanes have committed. A lane that fails stops the rebuild and leaves the
read models as they were; one rebuild runs at a time, and what a crashed one left is
cleared by the next.
"""

import multiprocessing
import os
import signal
import threading
import time

import psycopg
import pytest

from ledger import events
from ledger.errors import RebuildUnderWay
from ledger.settings import Settings
from ledger.system import open_system, read_models
from projections import lanes
from projections.runner import ProjectionRunner
from tests.projections.test_rebuild_swap import (
    PROGRAM,
    a_year,
    built_from_scratch,
    read_models_now,
)
from tests.projections.wrapping import (
    Wrapped,
    bills_and_payments,
    keeping_contributions,
    sizes_with_a_bill_or_payment,
)

LOCK = "SELECT pg_advisory_lock(hashtextextended('ledger projections rebuild', 0))"


@pytest.fixture
def pg_system(pg_url, tmp_path):
    with open_system(Settings(database_url=pg_url, data_dir=tmp_path)) as system:
        yield system


def test_the_participants_are_split_among_lanes_and_contributions_waits_for_them(pg_system):
    # Given the ledger's projections
    projections = read_models(pg_system.keyring)

    # When a rebuild of all of them is planned over two parts
    plan = lanes.plan_lanes(projections, "public", 2)

    # Then the participants have a lane per part, each in a schema of its own, and the
    # other projections share one, in their order, waiting for both participants' lanes
    assert [(lane.projections, lane.schema, lane.part, lane.waits_for)
            for lane in plan.lanes] == [
        (("participants",), "public_rebuild_p1", (0, 2), ()),
        (("participants",), "public_rebuild_p2", (1, 2), ()),
        (("programs", "contributions", "claims"), "public_rebuild", (0, 1), (0, 1)),
    ]
    # And rebuilt alone, contributions reads the live participants and waits for nobody
    alone = lanes.plan_lanes([p for p in projections if p.name == "contributions"], "public", 2)
    assert [(lane.projections, lane.waits_for) for lane in alone.lanes] == [
        (("contributions",), ())]


def test_lanes_in_processes_rebuild_what_the_log_gives(pg_system, tmp_path):
    # Given a program's year, and read models damaged behind the projections
    a_year(pg_system, PROGRAM)
    with pg_system.storage.db.transaction() as tx:
        tx.execute("DELETE FROM participant_status WHERE status = 'enrolled'")
        tx.execute("UPDATE program_cohort_status SET enrolled = enrolled + 7")
        tx.execute("DELETE FROM contribution_months")

    # When the ledger rebuilds them (its lanes are processes of their own)
    replayed = pg_system.projections.rebuild()

    # Then they are those the whole log gives, and no shadow is left behind
    assert replayed == pg_system.store.head()
    assert read_models_now(pg_system) == built_from_scratch(pg_system, tmp_path)
    assert shadows_left(pg_system) == []


class FailingOnAnEnrollment(Wrapped):
    """The participants projection, failing when it meets an enrollment."""

    def apply(self, tx, batch) -> None:
        if any(type(r.event).__name__ == "ParticipantEnrolled" for r in batch):
            raise RuntimeError("the projection failed on an enrollment")
        self._projection.apply(tx, batch)


def test_a_lane_that_fails_stops_the_rebuild_and_leaves_the_read_models_as_they_were(
        pg_system):
    # Given a program's year, its read models caught up, and a participants projection
    # that fails on an enrollment
    a_year(pg_system, PROGRAM)
    before = read_models_now(pg_system)
    positions = pg_system.projections.positions()
    projections = [FailingOnAnEnrollment(p) if p.name == "participants" else p
                   for p in read_models(pg_system.keyring)]
    failing = ProjectionRunner(pg_system.store, pg_system.storage.db, projections,
                               batch_size=5)

    # When every read model is rebuilt
    with pytest.raises(RuntimeError, match="failed on an enrollment"):
        failing.rebuild()

    # Then the read models and their positions are as they were, no shadow is left, and
    # the next rebuild runs
    assert read_models_now(pg_system) == before
    assert pg_system.projections.positions() == positions
    assert shadows_left(pg_system) == []
    pg_system.projections.rebuild()
    assert read_models_now(pg_system) == before


def test_each_bill_and_payment_is_replayed_in_a_transaction_of_its_own(pg_system, tmp_path):
    # Given a program's year of bills and their payments, and a contributions projection
    # that keeps what each of its transactions held
    a_year(pg_system, PROGRAM)
    runner, keeping = keeping_contributions(pg_system)

    # When every read model is rebuilt, in batches that could hold the whole year
    runner.rebuild()

    # Then every bill and every payment had a transaction to itself (the members' months
    # each rewrites are pruned before the next), and the read models are what the log gives
    assert bills_and_payments(pg_system) >= 8
    assert sizes_with_a_bill_or_payment(keeping) == [1] * bills_and_payments(pg_system)
    assert read_models_now(pg_system) == built_from_scratch(pg_system, tmp_path)


def test_a_lane_reads_the_log_without_holding_a_snapshot_between_batches(pg_system):
    # Given a program's year
    a_year(pg_system, PROGRAM)
    store = pg_system.store
    head = store.head()

    # When a lane has read the first batch of its part of the log
    batches = store.read_log_part(head, tuple(events.READABLE_TYPES.values()), (0, 1), 5)
    first = next(batches)

    # Then no session of the database holds a snapshot (one held would keep PostgreSQL
    # from pruning the row versions the rebuild leaves), and the batches read on are the
    # rest of the log, in order
    with pg_system.storage.db.snapshot() as tx:
        holding = tx.fetchone("SELECT COUNT(*) AS sessions FROM pg_stat_activity "
                              "WHERE datname = current_database() AND backend_xmin IS NOT NULL "
                              "AND pid <> pg_backend_pid()")["sessions"]
    assert holding == 0
    read = [r.position for batch in [first, *batches] for r in batch]
    assert read == list(range(1, head + 1))


def test_a_lane_killed_mid_rebuild_abandons_it_and_leaves_the_read_models_as_they_were(
        pg_system):
    # Given a program's year, its read models caught up, and a watcher that kills the
    # first rebuild lane it sees start
    a_year(pg_system, PROGRAM)
    before = read_models_now(pg_system)
    killed: list[int] = []

    def kill_a_lane() -> None:
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline:
            for child in multiprocessing.active_children():
                if child.name.startswith("rebuild-lane-") and child.pid:
                    os.kill(child.pid, signal.SIGKILL)
                    killed.append(child.pid)
                    return
            time.sleep(0.005)

    watcher = threading.Thread(target=kill_a_lane)
    watcher.start()

    # When every read model is rebuilt (its lanes are processes) and one is killed
    with pytest.raises(RuntimeError, match="ended without reporting"):
        pg_system.projections.rebuild()
    watcher.join()

    # Then the rebuild is abandoned: the read models are as they were, no shadow is left,
    # and the next rebuild runs
    assert killed
    assert read_models_now(pg_system) == before
    assert shadows_left(pg_system) == []
    assert pg_system.projections.rebuild() == pg_system.store.head()


def test_a_second_rebuild_is_refused_while_one_runs(pg_system, pg_url):
    # Given a rebuild under way (its lock held by another session)
    a_year(pg_system, PROGRAM)
    with psycopg.connect(pg_url, autocommit=True) as other:
        other.execute(LOCK)

        # When another rebuild starts, it is refused and says why
        with pytest.raises(RebuildUnderWay, match="another rebuild"):
            pg_system.projections.rebuild()

    # Then, once the first has ended, a rebuild runs
    assert pg_system.projections.rebuild() == pg_system.store.head()


def test_what_a_crashed_rebuild_left_is_cleared_by_the_next(pg_system, tmp_path):
    # Given a program's year, and shadows a crashed rebuild left in the lanes' schemas
    a_year(pg_system, PROGRAM)
    with pg_system.storage.db.transaction() as tx:
        tx.execute("CREATE UNLOGGED TABLE public_rebuild_p1.participant_status "
                   "(LIKE participant_status INCLUDING ALL)")
        tx.execute("CREATE VIEW public_rebuild.participant_status AS "
                   "SELECT * FROM public_rebuild_p1.participant_status")
        tx.execute("CREATE UNLOGGED TABLE public_rebuild.left_behind (n integer)")

    # When every read model is rebuilt
    pg_system.projections.rebuild()

    # Then the read models are what the log gives, and nothing is left in those schemas
    assert read_models_now(pg_system) == built_from_scratch(pg_system, tmp_path)
    assert shadows_left(pg_system) == []


def shadows_left(system) -> list[str]:
    with system.storage.db.snapshot() as tx:
        return [row["name"] for row in tx.fetchall(
            "SELECT n.nspname || '.' || c.relname AS name FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname LIKE 'public\\_rebuild%' AND c.relkind IN ('r', 'v')")]
