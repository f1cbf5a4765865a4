"""A civil-registry extract of any size: in memory while small, on disk once large.

A regency's extract is tens of thousands of people, a province's millions; held
as Python objects a million records take ~400 MB. This implementation of the
``CivilRegistry`` port keeps people in a dict up to ``memory_limit`` and then
moves them to a throwaway SQLite file (stdlib ``sqlite3``) keyed by NIK, with a
small page cache: small extracts stay fast, large ones keep memory flat. The
P3KE register, asked only for P3KE cohorts, always lives in the file. The file
is deleted when the registry is closed or garbage-collected.
"""

import sqlite3
import tempfile
import threading
import weakref
from datetime import date
from pathlib import Path

from ledger.verification import RegistryRecord

MEMORY_LIMIT = 200_000
_CACHE_KIB = 16 * 1024
_INSERT = ("INSERT OR IGNORE INTO person (nik, full_name, birth_date, sex, mother_name) "
           "VALUES (?, ?, ?, ?, ?)")


class ExtractRegistry:
    def __init__(self, source: str, memory_limit: int = MEMORY_LIMIT) -> None:
        self.source = source
        self._memory: dict[str, RegistryRecord] | None = {}
        self._limit = memory_limit
        self._count = 0
        self._lock = threading.Lock()  # the API shares one registry between request threads
        folder = tempfile.TemporaryDirectory(prefix="ledger-registry-")
        self.path = Path(folder.name, "registry.sqlite")
        self._disk = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        # Close the connection, then remove the folder, however this object goes away.
        self._finalizer = weakref.finalize(self, _close, self._disk, folder)
        self._disk.executescript(f"""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            PRAGMA cache_size = -{_CACHE_KIB};
            CREATE TABLE person (nik TEXT PRIMARY KEY, full_name TEXT NOT NULL,
                birth_date TEXT NOT NULL, sex TEXT NOT NULL, mother_name TEXT NOT NULL)
                WITHOUT ROWID;
            CREATE TABLE p3ke (nik TEXT PRIMARY KEY) WITHOUT ROWID;
        """)

    @property
    def on_disk(self) -> bool:
        return self._memory is None

    def add(self, record: RegistryRecord) -> bool:
        """Add a person; False when the NIK is there already (the first row is kept)."""
        with self._lock:
            if self._memory is not None:
                if record.nik in self._memory:
                    return False
                self._memory[record.nik] = record
                if len(self._memory) > self._limit:
                    self._spill()
                added = True
            else:
                added = self._disk.execute(_INSERT, _row(record)).rowcount == 1
            self._count += added
            return added

    def add_p3ke(self, nik: str) -> None:
        with self._lock:
            self._disk.execute("INSERT OR IGNORE INTO p3ke (nik) VALUES (?)", (nik,))

    def __len__(self) -> int:
        return self._count

    def lookup(self, nik: str) -> RegistryRecord | None:
        with self._lock:
            if self._memory is not None:
                return self._memory.get(nik)
            row = self._disk.execute(
                "SELECT nik, full_name, birth_date, sex, mother_name FROM person WHERE nik = ?",
                (nik,)).fetchone()
        if row is None:
            return None
        return RegistryRecord(nik=row[0], full_name=row[1], birth_date=date.fromisoformat(row[2]),
                              sex=row[3], mother_name=row[4])

    def in_p3ke(self, nik: str) -> bool:
        with self._lock:
            return self._disk.execute("SELECT 1 FROM p3ke WHERE nik = ?",
                                      (nik,)).fetchone() is not None

    def close(self) -> None:
        self._finalizer()

    def _spill(self) -> None:
        self._disk.executemany(_INSERT, (_row(r) for r in self._memory.values()))
        self._memory = None


def _row(record: RegistryRecord) -> tuple[str, str, str, str, str]:
    return (record.nik, record.full_name, record.birth_date.isoformat(), record.sex,
            record.mother_name)


def _close(conn: sqlite3.Connection, folder: tempfile.TemporaryDirectory) -> None:
    conn.close()
    folder.cleanup()
