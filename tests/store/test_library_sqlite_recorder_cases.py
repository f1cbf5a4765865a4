"""The eventsourcing library's own application-recorder test cases, run on our SQLite
recorder (the library's, also writing the hash chain), on a file migrated by our SQL."""

from __future__ import annotations

import tempfile
from pathlib import Path

from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests import persistence as library_cases

from ledger.storage import migrate
from ledger.storage_sqlite import LedgerSQLiteRecorder


class TestLedgerSQLiteRecorder(library_cases.ApplicationRecorderTestCase):
    def setUp(self) -> None:
        super().setUp()
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.path = Path(folder.name) / "ledger.sqlite"
        migrate(f"sqlite:///{self.path}")

    def create_recorder(self) -> LedgerSQLiteRecorder:
        datastore = SQLiteDatastore(str(self.path), pool_size=5)
        self.addCleanup(datastore.close)
        return LedgerSQLiteRecorder(datastore)
