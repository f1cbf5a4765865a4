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
from ledger.events import KpjTaken
from ledger.storage import Database


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
    for position, computed, stored in _hashes(db, upto):
        if position != expected:
            return _failed(expected - 1, last, expected, "no event at this position: deleted, "
                                                       "or the positions were renumbered")
        if stored is None:
            return _failed(expected - 1, last, position,
                           "the event has no chain hash: it was inserted outside the ledger")
        if computed != stored:
            return _failed(expected - 1, last, position,
                           "its stored bytes no longer give its hash: edited or reordered")
        expected, last = expected + 1, computed
    orphan = _first_hash_after(db, expected - 1, upto)
    if orphan is not None:
        return _failed(expected - 1, last, orphan,
                       "a chain hash with no event: the event was deleted")
    return Verdict(expected - 1, (last or chain.GENESIS).hex())


def _hashes(db: Database, upto: int | None) -> Iterator[tuple[int, bytes, bytes | None]]:
    """(position, recomputed hash, stored hash) of every stored event in global order,
    from the raw rows: a million events' verify is as fast as this loop."""
    previous, type_names = chain.GENESIS, {}
    for position, stream, version, topic, state, stored in db.read_chain(0, upto):
        name = type_names.get(topic) or type_names.setdefault(topic, topic.encode("utf-8"))
        previous = chain.raw_hash(previous, position, stream, version, name, state)
        yield position, previous, stored


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
    """Write the log (or the events of ``streams``, and the KPJ streams their participants
    took) as JSON Lines; return the count."""
    written = 0
    for link in links(db):
        if streams is not None and link.stream_id not in streams and not _taken_by(link,
                                                                                   streams):
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


def _taken_by(link: Link, participants: set[UUID]) -> bool:
    """Whether ``link`` is a KPJ taken by one of ``participants``. A KPJ's stream names no
    program, and the read models know only a member's current KPJ, not one held before a
    lapse and an enrollment under another: the event itself names who took it. One whose
    bytes no longer say (altered behind the ledger's back) is not attributed; ``verify``
    is what names it."""
    if link.type_name != KpjTaken.TYPE:
        return False
    try:
        return UUID(json.loads(link.state)["data"]["participant_id"]) in participants
    except (ValueError, KeyError, TypeError):
        return False


def links(db: Database, *, upto: int | None = None) -> Iterator[Link]:
    """Every stored event in global order with its recomputed and stored hash."""
    previous = chain.GENESIS
    for position, stream, version, topic, state, stored in db.read_chain(0, upto):
        computed = chain.event_hash(previous, position, UUID(bytes=stream), version, topic,
                                    state)
        yield Link(position, UUID(bytes=stream), version, topic, state, previous, computed,
                   stored)
        previous = computed


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
