"""Program snapshots: a program's state folded up to a version of its stream.

A program stream gains an event per quota seat (35,000 in Makassar), and every process
folds a program once before its first command on it. With a snapshot it reads the
snapshot and only the events after it. A snapshot is a cache beside the log, not
history: any row may be deleted (the stream is then folded whole and the snapshot taken
again), one taken by code of another shape (``SHAPE``: the fields of ``Program`` and
``EVOLVE_REVISION``) is ignored, and ``Ledger`` uses one only at a version its stream
holds. It is trusted as the read models are, which the same service role writes.
"""

import hashlib

import msgspec

from ledger.program import EVOLVE_REVISION, Program
from ledger.storage import Database

SHAPE = "{}:{}".format(EVOLVE_REVISION, hashlib.sha256(
    msgspec.json.encode(msgspec.json.schema(Program))).hexdigest()[:16])
_decoder = msgspec.json.Decoder(Program)


class ProgramSnapshots:
    def __init__(self, db: Database) -> None:
        self._db = db

    def load(self, program_id: str) -> tuple[Program, int] | None:
        """The program's state and the stream version it was folded to, when this code
        can read the snapshot."""
        with self._db.snapshot() as tx:
            row = tx.fetchone("SELECT version, shape, state FROM program_snapshots "
                              "WHERE program_id = :program_id", {"program_id": program_id})
        if row is None or row["shape"] != SHAPE:
            return None
        try:
            return _decoder.decode(row["state"]), row["version"]
        except msgspec.DecodeError:  # a damaged row is a missing one
            return None

    def save(self, program_id: str, state: Program, version: int) -> None:
        """Keep the state at ``version``, unless a later one of this shape is kept."""
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO program_snapshots (program_id, version, shape, state) "
                "VALUES (:program_id, :version, :shape, :state) ON CONFLICT (program_id) "
                "DO UPDATE SET version = excluded.version, shape = excluded.shape, "
                "state = excluded.state WHERE program_snapshots.version < excluded.version "
                "OR program_snapshots.shape <> excluded.shape",
                {"program_id": program_id, "version": version, "shape": SHAPE,
                 "state": msgspec.json.encode(state).decode()})
