"""The eventsourcing library's own recorder test cases, run on our PostgreSQL recorder.

Every test gets a fresh database from tests/postgres_server.py
(LEDGER_TEST_DATABASE_URL, else testcontainers, else pgserver) and the event
table, its append-only triggers and the hash chain from our migration SQL,
executed as is. The application-recorder cases run
twice: with the default copy_threshold (small batches INSERT, big ones COPY) and
with copy_threshold=1, so that every library test also drives the COPY path.

The library's test_performance / test_concurrent_throughput take well under a
second each here, so none are skipped.

The library's abstract cases are reached through their module, not imported by
name: pytest collects every unittest.TestCase subclass it finds in a test module.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.tests import persistence as library_cases

from ledger.postgres_recorder import LedgerPostgresProcessRecorder, LedgerPostgresRecorder
from tests.postgres_server import fresh_postgres_database

# The timeout turns a lost NOTIFY (a subscription waiting forever) into a failure.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]

# The event table, its append-only triggers and the hash chain the recorder writes.
MIGRATIONS = [Path(__file__).resolve().parents[2] / "migrations/postgresql" / name
              for name in ("0001_event_store.sql", "0005_append_only.sql",
                           "0007_event_chain.sql")]


class _FreshLedgerDatabase:
    """unittest mixin: a fresh database per test, with our event table migrated in."""

    db_url: str

    def setUp(self) -> None:
        super().setUp()
        stack = contextlib.ExitStack()
        # Cleanups run last-in first-out: recorders' pools close, then the db is dropped.
        self.addCleanup(stack.close)
        self.db_url = stack.enter_context(fresh_postgres_database())
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            for migration in MIGRATIONS:
                conn.execute(migration.read_text())

    def ledger_recorder(self, cls=LedgerPostgresRecorder, **kwargs):
        recorder = cls.from_url(self.db_url, **kwargs)
        self.addCleanup(recorder.datastore.close)
        return recorder


# --- application recorder: default copy_threshold, then COPY for every batch ---


class TestLedgerRecorder(_FreshLedgerDatabase, library_cases.ApplicationRecorderTestCase):
    copy_threshold = 64

    def create_recorder(self) -> LedgerPostgresRecorder:
        return self.ledger_recorder(copy_threshold=self.copy_threshold)

    def test_insert_subscribe(self) -> None:
        # Optional in the library; it proves our NOTIFY still wakes subscriptions.
        self.optional_test_insert_subscribe()

    def test_ids_are_gapless_and_sequence_keeps_up(self) -> None:
        recorder = self.create_recorder()
        originator_id = uuid4()
        first = StoredEvent(originator_id, 1, "topic", b"state")
        self.assertEqual(recorder.insert_events([first]), [1])
        # A rejected batch (optimistic-concurrency clash) uses up no ids, unlike
        # the library's bigserial, which would leave a gap.
        with self.assertRaises(IntegrityError):
            recorder.insert_events([StoredEvent(originator_id, 2, "t", b""), first])
        batch = [StoredEvent(originator_id, v, "t", b"s") for v in range(2, 102)]
        self.assertEqual(recorder.insert_events(batch), list(range(2, 102)))
        self.assertEqual(recorder.max_notification_id(), 101)
        with psycopg.connect(self.db_url) as conn:
            next_from_sequence = conn.execute(
                "SELECT nextval(pg_get_serial_sequence('stored_events', 'notification_id'))"
            ).fetchone()
        self.assertEqual(next_from_sequence, (102,))

    def test_str_originator_ids(self) -> None:
        # The library's recorder takes UUIDs as str too; so must both our paths.
        recorder = self.create_recorder()
        originator_id = uuid4()
        self.assertEqual(
            recorder.insert_events([StoredEvent(str(originator_id), 1, "t", b"s")]), [1]
        )
        self.assertEqual(len(recorder.select_events(originator_id)), 1)


class TestLedgerRecorderCopyAlways(TestLedgerRecorder):
    copy_threshold = 1


class TestLedgerRecorderNonInterleaving(
    _FreshLedgerDatabase, library_cases.NonInterleavingNotificationIDsBaseCase
):
    copy_threshold = 64

    def create_recorder(self) -> LedgerPostgresRecorder:
        return self.ledger_recorder(copy_threshold=self.copy_threshold)


class TestLedgerRecorderNonInterleavingCopyAlways(TestLedgerRecorderNonInterleaving):
    copy_threshold = 1


# --- tracking and process recorders ---


class TestLibraryTrackingRecorder(_FreshLedgerDatabase, library_cases.TrackingRecorderTestCase):
    # We have no tracking recorder of our own: this checks the library's one
    # against the same server (it creates its own notification_tracking table).
    def create_recorder(self) -> PostgresTrackingRecorder:
        recorder = PostgresTrackingRecorder(self.ledger_recorder().datastore)
        recorder.create_table()
        return recorder


class TestLedgerProcessRecorder(_FreshLedgerDatabase, library_cases.ProcessRecorderTestCase):
    # The library's process recorder with our insert path (explicit ids, COPY),
    # tracking row written in the same transaction as the events.
    def create_recorder(self) -> LedgerPostgresProcessRecorder:
        recorder = self.ledger_recorder(LedgerPostgresProcessRecorder, copy_threshold=1)
        # The tracking table has no migration yet; only it is created here,
        # by the library's tracking recorder (not our events table).
        PostgresTrackingRecorder(recorder.datastore).create_table()
        return recorder
