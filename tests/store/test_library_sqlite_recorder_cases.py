"""The eventsourcing library's own application-recorder test cases, run on our SQLite
recorder (the library's, also writing the hash chain), on a file migrated by our SQL."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests import persistence as library_cases

from ledger.storage import migrate
from ledger.storage_sqlite import LedgerSQLiteRecorder


class TestLedgerSQLiteRecorder(library_cases.ApplicationRecorderTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.threads_before = set(threading.enumerate())
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.path = Path(folder.name) / "ledger.sqlite"
        migrate(f"sqlite:///{self.path}")

    def create_recorder(self) -> LedgerSQLiteRecorder:
        datastore = SQLiteDatastore(str(self.path), pool_size=5)
        self.addCleanup(datastore.close)
        # Cleanups run last-in first-out, so this runs before the close above: the
        # library's concurrency case stops its reader threads without joining them, and
        # closing SQLite connections under a thread still reading crashes the process.
        self.addCleanup(self.join_threads_started_by_the_test)
        return LedgerSQLiteRecorder(datastore)

    def join_threads_started_by_the_test(self) -> None:
        for thread in set(threading.enumerate()) - self.threads_before:
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join(timeout=30)
