"""As-of checkpoints: a program's replayed read models, kept at a log position.

An as-of budget or findings replays the program's streams from the start of the log
(``projections/as_of.py``): 35,000 members and a year of bills take 16-30 s. A
checkpoint keeps what such a replay built, so that a later question at or after its
position replays only the events after it, with the same projection code. It is a cache
beside the log, not history (any row may be deleted; the replay then starts from the
log's start), and one is used only where it gives what a replay from the start gives:

- made by this code from this schema and these keys (``code``: a hash of the ledger's
  and projections' sources, the migrations, and the keys' fingerprints);
- from the log as it still is: the chain hash at its position is the log's
  (``event_chain``), which commits to every event up to it;
- unaltered: its body is sealed with the data key, bound to its scope, code, position and
  chain hash, so a body edited in the database, or moved to another program or position,
  does not open and is passed over;
- covering the question: each stream the question reads that the checkpoint did not
  (a member of another program who came to share a NIK later) begins after its position.
"""

import hashlib
import io
import struct
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import NamedTuple
from uuid import UUID

import structlog
import zstandard

import ledger
import projections
from ledger.errors import PersonalDataUnreadable
from ledger.personal_data import Keyring
from ledger.storage import Database, migrations_dir
from ledger.store import EventStore

KEPT_PER_SCOPE = 3
"""Checkpoints kept for a scope: the newest, and a couple before it for a question
asked at an earlier month. A 35,000-member program's is about 33 MB."""
_COMPRESSION_LEVEL = 3
"""zstd's default: a 35,000-member program's read models shrink about fourfold in well
under a second, and open again in a fraction of that."""
_log = structlog.get_logger("projections.checkpoints")


class Candidate(NamedTuple):
    position: int
    chain_hash: bytes


class Checkpoints:
    def __init__(self, db: Database, store: EventStore, keyring: Keyring) -> None:
        self._db = db
        self._store = store
        self._keyring = keyring
        self._code = _code(keyring)

    def candidates(self, scope: str, upto: int) -> list[Candidate]:
        """The checkpoints of ``scope`` at or before position ``upto`` made by this code,
        the latest first: each still to be ``restore``d to prove it usable."""
        with self._db.snapshot() as tx:
            return [Candidate(row["position"], bytes(row["chain_hash"])) for row in tx.fetchall(
                "SELECT position, chain_hash FROM as_of_checkpoints "
                "WHERE scope = :scope AND code = :code AND position <= :upto "
                "ORDER BY position DESC", {"scope": scope, "code": self._code, "upto": upto})]

    def restore(self, scope: str, candidate: Candidate, streams: frozenset[UUID],
                path: Path) -> bool:
        """Write the candidate's read models into a SQLite file at ``path`` when it is
        usable for a question reading ``streams`` (the module's docstring says when)."""
        compressed = self._usable(scope, candidate, streams)
        if compressed is None:
            return False
        with path.open("wb") as file:  # streamed: 144 MB are never in memory whole
            zstandard.ZstdDecompressor().copy_stream(io.BytesIO(compressed), file)
        return True

    def keep(self, scope: str, position: int, streams: frozenset[UUID],
             read_models: bytes) -> bool:
        """Keep the read models replayed to ``position``, and let the oldest go; unless
        ``KEPT_PER_SCOPE`` later ones are kept already, which would let this one go.
        Return whether it was kept."""
        chain_hash = self._chain_hash(position)
        if chain_hash is None or self._kept_after(scope, position) >= KEPT_PER_SCOPE:
            return False
        compressed = zstandard.ZstdCompressor(level=_COMPRESSION_LEVEL).compress(read_models)
        sealed = self._keyring.seal_bytes(_pack(streams, compressed),
                                          self._context(scope, position, chain_hash))
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO as_of_checkpoints (scope, code, position, chain_hash, made_at, "
                "body) VALUES (:scope, :code, :position, :chain_hash, :made_at, :body) "
                "ON CONFLICT (scope, code, position) DO NOTHING",
                {"scope": scope, "code": self._code, "position": position,
                 "chain_hash": chain_hash, "made_at": datetime.now(UTC).isoformat(),
                 "body": sealed})
            tx.execute("DELETE FROM as_of_checkpoints WHERE scope = :scope AND (code <> :code "
                       "OR position NOT IN (SELECT position FROM as_of_checkpoints "
                       "WHERE scope = :scope AND code = :code ORDER BY position DESC "
                       "LIMIT :kept))", {"scope": scope, "code": self._code,
                                          "kept": KEPT_PER_SCOPE})
        return True

    def _usable(self, scope: str, candidate: Candidate,
                streams: frozenset[UUID]) -> memoryview | None:
        """The candidate's compressed read models, if it is usable."""
        position, chain_hash = candidate
        if self._chain_hash(position) != chain_hash:
            _log.warning("as_of_checkpoint_passed_over", scope=scope, position=position,
                         reason="the log's chain hash at its position is another")
            return None
        with self._db.snapshot() as tx:
            sealed = tx.fetch_bytes("SELECT body FROM as_of_checkpoints WHERE scope = :scope "
                                    "AND code = :code AND position = :position",
                                    {"scope": scope, "code": self._code, "position": position})
        if sealed is None:  # pruned meanwhile by another process
            return None
        try:
            kept, compressed = _unpack(self._keyring.open_bytes(
                sealed, self._context(scope, position, chain_hash)))
        except (PersonalDataUnreadable, ValueError, struct.error):
            _log.warning("as_of_checkpoint_passed_over", scope=scope, position=position,
                         reason="its body does not open: altered, or sealed by another key")
            return None
        lacking = [stream for stream in streams if stream.bytes not in kept]
        if self._store.positions_of(lacking, position):
            return None  # a stream it lacks had events by then: replay from the start
        return compressed

    def _kept_after(self, scope: str, position: int) -> int:
        with self._db.snapshot() as tx:
            return tx.fetchone("SELECT COUNT(*) AS kept FROM as_of_checkpoints WHERE "
                               "scope = :scope AND code = :code AND position > :position",
                               {"scope": scope, "code": self._code,
                                "position": position})["kept"]

    def _chain_hash(self, position: int) -> bytes | None:
        with self._db.snapshot() as tx:
            row = tx.fetchone("SELECT hash FROM event_chain WHERE position = :position",
                              {"position": position})
        return None if row is None else bytes(row["hash"])

    def _context(self, scope: str, position: int, chain_hash: bytes) -> bytes:
        return f"as-of checkpoint\n{scope}\n{self._code}\n{position}\n".encode() + chain_hash


def _pack(streams: frozenset[UUID], compressed: bytes) -> bytes:
    ids = b"".join(stream.bytes for stream in sorted(streams))
    return struct.pack(">I", len(streams)) + ids + compressed


def _unpack(packed: bytes) -> tuple[frozenset[bytes], memoryview]:
    """The streams' ids (as their 16 bytes: 35,000 ``UUID``s took a fifth of a second)
    and the compressed read models, not copied."""
    (count,) = struct.unpack_from(">I", packed)
    end = 4 + 16 * count
    if len(packed) < end:
        raise ValueError("a checkpoint shorter than its list of streams")
    streams = frozenset(packed[at:at + 16] for at in range(4, end, 16))
    return streams, memoryview(packed)[end:]


def _code(keyring: Keyring) -> str:
    """What a replay's result depends on besides the log: the code that folds and projects
    (every module of ``ledger`` and ``projections``), the read models' schema (the
    migrations), and the keys (NIK hashes and sealed fields in the rows)."""
    keys = "\n".join(f"{name}={value}" for name, value in sorted(keyring.fingerprints.items()))
    return hashlib.sha256(f"{_sources()}\n{keys}\nactive={keyring.active}".encode()
                          ).hexdigest()[:32]


@cache
def _sources() -> str:
    digest = hashlib.sha256()
    folders = [Path(package.__file__).parent for package in (ledger, projections)]
    files = [path for folder in folders for path in sorted(folder.glob("*.py"))]
    files += sorted(migrations_dir().rglob("*.sql"))
    for path in files:
        digest.update(f"{path.parent.name}/{path.name}".encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
