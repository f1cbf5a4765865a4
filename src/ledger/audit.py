"""Audit of the log itself: verify the hash chain, take a digest, export for auditors.

``verify`` recomputes every stored event's hash (``ledger.chain``) from its stored
bytes and position, in global order, and compares it with the hash the recorder
wrote beside it. It names the first position that fails: a row edited (its bytes
no longer give its hash), deleted (a position missing), inserted (an event with no
hash of its own) or reordered. Someone able to rewrite both tables consistently is
caught by a digest: the position and head hash an auditor took earlier and kept
outside the system, which today's chain must still reproduce.
"""

import base64
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import NamedTuple, TextIO
from uuid import UUID

from ledger import chain
from ledger.storage import Database

_POSITION = {"postgresql": "notification_id", "sqlite": "rowid"}


class Verdict(NamedTuple):
    events: int
    head_hash: str
    failed_position: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.failed_position is None


class Link(NamedTuple):
    position: int
    stream_id: UUID
    version: int
    type_name: str
    state: bytes
    previous_hash: bytes
    hash: bytes
    """The hash recomputed from the stored bytes."""
    stored_hash: bytes | None


def verify(db: Database, *, upto: int | None = None) -> Verdict:
    expected, last = 1, None
    for link in links(db, upto=upto):
        if link.position != expected:
            return _failed(expected - 1, last, expected, "no event at this position: deleted, "
                                                       "or the positions were renumbered")
        if link.stored_hash is None:
            return _failed(expected - 1, last, link.position,
                           "the event has no chain hash: it was inserted outside the ledger")
        if link.hash != link.stored_hash:
            return _failed(expected - 1, last, link.position,
                           "its stored bytes no longer give its hash: edited or reordered")
        expected, last = expected + 1, link.hash
    orphan = _first_hash_after(db, expected - 1, upto)
    if orphan is not None:
        return _failed(expected - 1, last, orphan,
                       "a chain hash with no event: the event was deleted")
    return Verdict(expected - 1, (last or chain.GENESIS).hex())


def digest(db: Database, now: datetime | None = None) -> dict:
    """A small digest an auditor keeps outside the system (JSON-ready)."""
    verdict = verify(db)
    if not verdict.ok:
        raise ValueError(f"the log does not verify at position {verdict.failed_position}: "
                         f"{verdict.reason}; no digest of a broken chain")
    return {"position": verdict.events, "head_hash": verdict.head_hash,
            "algorithm": "sha256-chain-v1",
            "taken_at": (now or datetime.now(UTC)).isoformat()}


def verify_digest(db: Database, kept: dict) -> Verdict:
    """Does today's log still hold the prefix the digest describes, unchanged?"""
    verdict = verify(db, upto=kept["position"])
    if not verdict.ok:
        return verdict
    if verdict.events < kept["position"]:
        return verdict._replace(failed_position=verdict.events + 1,
                                reason="the log is shorter than the digest's position")
    if verdict.head_hash != kept["head_hash"]:
        return verdict._replace(failed_position=kept["position"],
                                reason="the chain no longer reproduces the digest's head hash: "
                                       "the digest is of another ledger, or history up to it "
                                       "was rewritten")
    return verdict


def export(db: Database, out: TextIO, *, streams: set[UUID] | None = None) -> int:
    """Write the log (or the events of ``streams``) as JSON Lines; return the count."""
    written = 0
    for link in links(db):
        if streams is not None and link.stream_id not in streams:
            continue
        stored = json.loads(link.state)
        out.write(json.dumps({
            "position": link.position, "stream_id": str(link.stream_id),
            "version": link.version, "type": link.type_name,
            "recorded_at": stored["meta"]["recorded_at"], "meta": stored["meta"],
            "data": stored["data"], "state": base64.b64encode(link.state).decode(),
            "previous_hash": link.previous_hash.hex(),
            "hash": (link.stored_hash or b"").hex()}, ensure_ascii=False) + "\n")
        written += 1
    return written


def links(db: Database, *, upto: int | None = None, batch: int = 20_000) -> Iterator[Link]:
    """Every stored event in global order with its recomputed and stored hash."""
    position_column = _POSITION[db.dialect]
    after, previous = 0, chain.GENESIS
    while True:
        limit = batch if upto is None else min(batch, upto - after)
        if limit <= 0:
            return
        with db.snapshot() as tx:
            rows = tx.fetchall(
                f"SELECT e.{position_column} AS position, e.originator_id AS stream_id, "
                "e.originator_version AS version, e.topic AS topic, e.state AS state, "
                "c.hash AS hash FROM stored_events e LEFT JOIN event_chain c "
                f"ON c.position = e.{position_column} WHERE e.{position_column} > :after "
                f"ORDER BY e.{position_column} LIMIT :limit", {"after": after, "limit": limit})
        if not rows:
            return
        for row in rows:
            state = _as_bytes(row["state"])
            stream_id = row["stream_id"]  # a UUID from PostgreSQL, text from SQLite
            if not isinstance(stream_id, UUID):
                stream_id = UUID(stream_id)
            computed = chain.event_hash(previous, row["position"], stream_id, row["version"],
                                        row["topic"], state)
            yield Link(row["position"], stream_id, row["version"], row["topic"], state,
                       previous, computed, bytes(row["hash"]) if row["hash"] else None)
            previous = computed
        after = rows[-1]["position"]


def _as_bytes(value: bytes | memoryview | str) -> bytes:
    """Stored bytes as written; a tampered SQLite row may hold text instead of a blob."""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _first_hash_after(db: Database, position: int, upto: int | None) -> int | None:
    with db.snapshot() as tx:
        row = tx.fetchone("SELECT MIN(position) AS position FROM event_chain "
                          "WHERE position > :position", {"position": position})
    found = row["position"] if row else None
    return None if found is None or (upto is not None and found > upto) else found


def _failed(events: int, last: bytes | None, position: int, reason: str) -> Verdict:
    return Verdict(events, (last or chain.GENESIS).hex(), position, reason)


def read_digest(lines: Iterable[str]) -> dict:
    kept = json.loads("".join(lines))
    if not isinstance(kept.get("position"), int) or not isinstance(kept.get("head_hash"), str):
        raise ValueError("a digest is JSON with an integer position and a head_hash")
    return kept
