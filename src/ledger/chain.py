"""The hash chain that makes the log tamper-evident, and its standalone verifier.

Every stored event gets a SHA-256 hash over its predecessor's hash and its own
position, stream, version, type name and stored bytes, each length-prefixed so
no two different events can encode the same input (big-endian integers):

    hash(n) = SHA-256( hash(n-1) || u64(n) || stream uuid (16 bytes) || u64(version)
                       || u32(len(type)) || type (UTF-8) || u32(len(state)) || state )

with hash(0) = 32 zero bytes. The recorders write hash(n) beside event n in the
same transaction. Editing, deleting, inserting or reordering any stored event
changes every hash from that position on; a digest (position and head hash) kept
outside the system proves later that a prefix of the log is unchanged.

This file is also the auditor's verifier and imports nothing but the standard
library, so it can be copied alone to any machine with Python:

    python chain.py EXPORT.jsonl [--digest DIGEST.json]

It recomputes every exported event's hash from its stored bytes, checks that
positions rise and each line's ``previous_hash`` against the line before when
positions follow each other (an export of one program has gaps: it says how
many; an export of the whole log has none), and with ``--digest`` (the JSON
``ledger audit digest`` printed earlier) that the export still holds that
position with that hash. It exits 0 when everything holds
and 1 naming the first position that fails, or the line that is not an exported
event. docs/audit.md publishes all of this.
"""

import argparse
import base64
import hashlib
import json
import struct
import sys
import uuid

GENESIS = bytes(32)
_HEAD = struct.Struct(">Q16sQI")  # position, stream uuid, version, len(type)
_LENGTH = struct.Struct(">I")


def event_hash(previous: bytes, position: int, stream_id: uuid.UUID, version: int,
               type_name: str, state: bytes) -> bytes:
    return raw_hash(previous, position, stream_id.bytes, version, type_name.encode("utf-8"),
                    state)


def raw_hash(previous: bytes, position: int, stream: bytes, version: int, topic: bytes,
             state: bytes) -> bytes:
    """``event_hash`` over the stream id's 16 bytes and the UTF-8 type name."""
    # One buffer, one hash call: a verify of a million events spends its time here.
    return hashlib.sha256(b"".join((
        previous, _HEAD.pack(position, stream, version, len(topic)), topic,
        _LENGTH.pack(len(state)), state))).digest()


def link(previous: bytes, rows) -> list[tuple[int, bytes]]:
    """(position, hash) for stored rows (position, stream uuid, version, type, state) that
    follow the event whose hash is ``previous``, in order."""
    chained = []
    for position, stream_id, version, type_name, state in rows:
        previous = event_hash(previous, position, stream_id, version, type_name, state)
        chained.append((position, previous))
    return chained


class Unreadable(Exception):
    """An export line or a digest that is not what ``ledger audit`` writes."""


def verify(lines, digest: dict | None = None) -> tuple[int | None, str]:
    """(None, summary) when the export holds, else (first failing position, why).
    Raises Unreadable, naming the line, for a line that is not an exported event."""
    last_position, last_hash, seen, gaps = None, None, 0, 0
    digest_found = digest is None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        position, stream_id, version, type_name, state, previous, stated = _record(number, line)
        if last_position is not None and position <= last_position:
            return position, (f"line {number} comes after position {last_position}: "
                              "positions must rise (lines reordered or repeated)")
        follows = last_position is not None and position == last_position + 1
        if follows and previous != last_hash:
            return position, "its previous_hash is not the hash of the line before"
        if last_position is None and position == 1 and previous != GENESIS:
            return position, "the first event must follow the genesis hash (32 zero bytes)"
        gaps += last_position is not None and not follows
        expected = event_hash(previous, position, stream_id, version, type_name, state)
        if expected.hex() != stated:
            return position, "its stored bytes do not give its hash: the event was altered"
        if digest is not None and position == digest["position"]:
            if stated != digest["head_hash"]:
                return position, ("the hash differs from the digest kept outside the system "
                                  "(a digest of another ledger, or history rewritten)")
            digest_found = True
        last_position, last_hash, seen = position, expected, seen + 1
    if not digest_found:
        return digest["position"], "the export does not reach the digest's position"
    if seen == 0:
        return None, "the export holds no events"
    # An export of one program skips the positions of other programs' events; only an
    # export of the whole log can show that none is missing.
    whole = "the whole log" if gaps == 0 and seen == last_position else f"{gaps} gaps"
    return None, f"{seen} events verified, up to position {last_position} ({whole})"


def _record(number: int, line: str) -> tuple[int, uuid.UUID, int, str, bytes, bytes, str]:
    try:
        record = json.loads(line)
        position, version = record["position"], record["version"]
        if not (isinstance(position, int) and isinstance(version, int) and position > 0):
            raise ValueError("position and version must be positive integers")
        return (position, uuid.UUID(record["stream_id"]), version, str(record["type"]),
                base64.b64decode(record["state"], validate=True),
                bytes.fromhex(record["previous_hash"]), str(record["hash"]))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        kind = f"no {error}" if isinstance(error, KeyError) else str(error)
        raise Unreadable(f"line {number} is not an exported event ({kind})") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", help="the JSON Lines file of `ledger audit export`")
    parser.add_argument("--digest", help="a digest JSON file of `ledger audit digest`")
    args = parser.parse_args(argv)
    try:
        digest = _read_digest(args.digest) if args.digest else None
        with open(args.export, encoding="utf-8") as file:
            failed, why = verify(file, digest)
    except (OSError, UnicodeDecodeError, Unreadable) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    if failed is not None:
        print(f"FAILED at position {failed}: {why}", file=sys.stderr)
        return 1
    print(f"OK: {why}")
    return 0


def _read_digest(path: str) -> dict:
    with open(path, encoding="utf-8") as file:
        try:
            digest = json.load(file)
        except ValueError:
            raise Unreadable(f"the digest {path} is not JSON") from None
    if not (isinstance(digest, dict) and isinstance(digest.get("position"), int)
            and isinstance(digest.get("head_hash"), str)):
        raise Unreadable(f"the digest {path} has no integer position and head_hash")
    return digest


if __name__ == "__main__":
    sys.exit(main())
