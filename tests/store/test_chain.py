"""The hash chain: every stored event chained in global order, and tampering detected.

Tampering here is done the way an insider with database rights would: around the
append-only triggers (dropped on SQLite, ``session_replication_role = replica`` on
PostgreSQL, which only a superuser may set).
"""

import io
import json
import subprocess
import sys
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger import audit, chain, storage_postgres, storage_sqlite
from ledger.events import EventMeta, SeatAllocated
from ledger.storage import open_storage
from ledger.store import EventStore, StreamWrite
from tests.keys import KEYRING

META = EventMeta(actor_id="clerk-1", actor_role="enrollment_clerk",
                 recorded_at=datetime(2024, 3, 1, 8, 0, tzinfo=UTC))
CHAIN_MODULE = Path(chain.__file__)


@pytest.fixture
def storage(owner_db_url):
    storage = open_storage(owner_db_url)
    yield storage
    storage.close()


@pytest.fixture
def log(storage) -> EventStore:
    """Given a log of 12 events: a batch of ten on one stream, then two single ones."""
    store = EventStore(storage, KEYRING)
    stream = uuid.uuid4()
    store.append([StreamWrite(stream, 0, [seat(n) for n in range(10)])], META)
    store.append([StreamWrite(stream, 10, [seat(10)])], META)
    store.append([StreamWrite(uuid.uuid4(), 0, [seat(11)])], META)
    return store


def seat(n: int) -> SeatAllocated:
    return SeatAllocated(participant_id=f"p{n}", cohort="informal")


@contextmanager
def tampering(storage):
    """A transaction that gets around the append-only triggers, as a superuser could."""
    with storage.db.transaction() as tx:
        if storage.dialect == "postgresql":
            tx.execute("SET LOCAL session_replication_role = replica")
        else:
            for trigger in ("stored_events_no_update", "stored_events_no_delete"):
                tx.execute(f"DROP TRIGGER {trigger}")
        yield tx


def position_column(storage) -> str:
    return "notification_id" if storage.dialect == "postgresql" else "rowid"


def test_an_untouched_log_verifies(storage, log):
    verdict = audit.verify(storage.db)
    assert verdict.ok and verdict.events == 12


def test_a_log_read_a_few_events_at_a_time_verifies_and_names_an_edit_past_the_first_read(
        storage, log, monkeypatch):
    monkeypatch.setattr(storage_sqlite, "CHAIN_PAGE", 5)
    monkeypatch.setattr(storage_postgres, "CHAIN_FETCH", 5)
    assert audit.verify(storage.db).events == 12

    with tampering(storage) as tx:
        tx.execute("UPDATE stored_events SET topic = 'program.seat_released.v1' "
                   f"WHERE {position_column(storage)} = 11")

    assert audit.verify(storage.db).failed_position == 11


def test_an_edited_event_is_named_by_its_position(storage, log):
    with tampering(storage) as tx:
        tx.execute("UPDATE stored_events SET topic = 'program.seat_released.v1' "
                   f"WHERE {position_column(storage)} = 7")

    verdict = audit.verify(storage.db)

    assert (verdict.failed_position, verdict.events) == (7, 6)
    assert "edited" in verdict.reason


def test_a_deleted_event_is_named_by_its_position(storage, log):
    with tampering(storage) as tx:
        tx.execute(f"DELETE FROM stored_events WHERE {position_column(storage)} = 4")

    assert audit.verify(storage.db).failed_position == 4


def test_a_deleted_last_event_is_caught_by_its_orphan_hash(storage, log):
    with tampering(storage) as tx:
        tx.execute(f"DELETE FROM stored_events WHERE {position_column(storage)} = 12")

    assert audit.verify(storage.db).failed_position == 12


def test_reordered_events_are_caught(storage, log):
    column = position_column(storage)
    with tampering(storage) as tx:
        rows = {r["position"]: r["state"] for r in tx.fetchall(
            f"SELECT {column} AS position, state FROM stored_events WHERE {column} IN (2, 3)")}
        for position, other in ((2, 3), (3, 2)):
            tx.execute(f"UPDATE stored_events SET state = :state WHERE {column} = :position",
                       {"state": bytes(rows[other]), "position": position})

    assert audit.verify(storage.db).failed_position == 2


def test_an_event_inserted_outside_the_ledger_is_caught(storage, log):
    with storage.db.transaction() as tx:
        stream = uuid.uuid4().hex if storage.dialect == "sqlite" else str(uuid.uuid4())
        tx.execute("INSERT INTO stored_events (originator_id, originator_version, topic, state"
                   + (", notification_id" if storage.dialect == "postgresql" else "")
                   + ") VALUES (:stream, 1, 'program.seat_allocated.v1', :state"
                   + (", 13" if storage.dialect == "postgresql" else "") + ")",
                   {"stream": stream, "state": b"{}"})

    verdict = audit.verify(storage.db)
    assert (verdict.failed_position, "inserted outside" in verdict.reason) == (13, True)


def test_a_digest_proves_a_prefix_unchanged_even_when_the_chain_was_recomputed(storage, log):
    kept = audit.digest(storage.db)
    EventStore(storage, KEYRING).append([StreamWrite(uuid.uuid4(), 0, [seat(12)])], META)
    assert audit.verify_digest(storage.db, kept).ok

    column = position_column(storage)
    with tampering(storage) as tx:  # rewrite event 5 and every hash after it, consistently
        tx.execute(f"UPDATE stored_events SET topic = 'program.seat_released.v1' "
                   f"WHERE {column} = 5")
        if storage.dialect == "postgresql":
            tx.execute("DELETE FROM event_chain")
        else:
            tx.execute("DROP TRIGGER event_chain_no_delete")
            tx.execute("DELETE FROM event_chain")
    _rechain(storage)

    assert audit.verify(storage.db).ok  # the chain alone cannot tell...
    verdict = audit.verify_digest(storage.db, kept)
    assert verdict.failed_position == 12  # ...the digest kept outside can


def test_the_standalone_verifier_checks_an_export_with_the_standard_library_only(
        storage, log, tmp_path):
    export = tmp_path / "log.jsonl"
    with export.open("w", encoding="utf-8") as out:
        assert audit.export(storage.db, out) == 12
    digest = tmp_path / "digest.json"
    digest.write_text(json.dumps(audit.digest(storage.db)))

    # -I: isolated mode, no site-packages: only the standard library is importable.
    ok = subprocess.run([sys.executable, "-I", str(CHAIN_MODULE), str(export), "--digest",
                         str(digest)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "12 events verified" in ok.stdout

    lines = export.read_text(encoding="utf-8").splitlines()
    forged = json.loads(lines[8])
    forged["state"] = forged["state"][:-4] + "AAAA"
    lines[8] = json.dumps(forged)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    failed = subprocess.run([sys.executable, "-I", str(CHAIN_MODULE), str(export)],
                            capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert "FAILED at position 9" in failed.stderr


def test_events_recorded_before_the_chain_existed_are_chained_on_the_next_append(storage):
    with storage.db.transaction() as tx:  # as a log from before the chain would hold them
        for version in (1, 2):
            tx.execute("INSERT INTO stored_events (originator_id, originator_version, topic, "
                       "state" + (", notification_id" if storage.dialect == "postgresql"
                                  else "") + ") VALUES (:stream, :version, 't', :state"
                       + (", :version" if storage.dialect == "postgresql" else "") + ")",
                       {"stream": _stream_text(storage), "version": version, "state": b"{}"})
    EventStore(storage, KEYRING).append([StreamWrite(uuid.uuid4(), 0, [seat(1)])], META)

    verdict = audit.verify(storage.db)
    assert verdict.ok and verdict.events == 3


def _stream_text(storage) -> str:
    fixed = uuid.UUID("7b0e3c44-9a0f-4a52-8d1b-3c2f6e5d4a10")
    return fixed.hex if storage.dialect == "sqlite" else str(fixed)


def _rechain(storage) -> None:
    """What an insider who also understood the chain would do after editing history."""
    rows = [(link.position, link.stream_id, link.version, link.type_name, link.state)
            for link in audit.links(storage.db)]
    with storage.db.transaction() as tx:
        tx.executemany("INSERT INTO event_chain (position, hash) VALUES (:position, :hash)",
                       [{"position": p, "hash": h} for p, h in chain.link(chain.GENESIS, rows)])


def test_export_of_nothing_writes_nothing(storage):
    out = io.StringIO()
    assert audit.export(storage.db, out) == 0 and out.getvalue() == ""


def test_a_tail_cut_off_after_a_digest_is_caught_even_with_its_hashes(storage, log):
    # Given a digest kept at position 12
    kept = audit.digest(storage.db)

    # When an insider deletes the last two events and their hashes, leaving a whole chain
    with tampering(storage) as tx:
        tx.execute(f"DELETE FROM stored_events WHERE {position_column(storage)} > 10")
        if storage.dialect == "sqlite":
            tx.execute("DROP TRIGGER event_chain_no_delete")
        tx.execute("DELETE FROM event_chain WHERE position > 10")

    # Then the chain alone holds, and the digest names where the log now falls short
    assert audit.verify(storage.db).ok
    verdict = audit.verify_digest(storage.db, kept)
    assert (verdict.failed_position, verdict.reason) == (
        11, "the log is shorter than the digest's position")


def test_a_digest_of_another_ledger_does_not_pass(storage, log, tmp_path):
    # Given a digest an auditor took of another ledger with as many events
    other = open_storage(f"sqlite:///{tmp_path / 'other-ledger.sqlite'}")
    try:
        other_log = EventStore(other, KEYRING)
        other_log.append([StreamWrite(uuid.uuid4(), 0, [seat(n + 100) for n in range(12)])],
                         META)
        theirs = audit.digest(other.db)
    finally:
        other.close()

    # When it is checked against this ledger
    verdict = audit.verify_digest(storage.db, theirs)

    # Then it fails at the digest's position, saying why
    assert verdict.failed_position == 12 and "another ledger" in verdict.reason


@pytest.mark.parametrize(("corrupt", "named"), [
    ("not json at all", "line 3 is not an exported event (Expecting value"),
    ('{"position": 3}', "line 3 is not an exported event (no 'version')"),
    ("BAD_STATE", "line 3 is not an exported event (Incorrect padding"),
    ("BAD_POSITION", "line 3 is not an exported event (position and version must be "),
])
def test_a_corrupt_export_is_named_by_its_line_never_a_crash(storage, log, tmp_path, corrupt,
                                                             named):
    export = tmp_path / "log.jsonl"
    with export.open("w", encoding="utf-8") as out:
        audit.export(storage.db, out)
    lines = export.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[2])
    lines[2] = {"BAD_STATE": json.dumps({**record, "state": "abc"}),
                "BAD_POSITION": json.dumps({**record, "position": "3"})}.get(corrupt, corrupt)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")

    failed = subprocess.run([sys.executable, "-I", str(CHAIN_MODULE), str(export)],
                            capture_output=True, text=True, check=False)

    assert failed.returncode == 1
    assert f"FAILED: {named}" in failed.stderr and "Traceback" not in failed.stderr


def test_an_export_with_lines_swapped_or_a_digest_file_unreadable_is_caught(storage, log,
                                                                            tmp_path):
    export = tmp_path / "log.jsonl"
    with export.open("w", encoding="utf-8") as out:
        audit.export(storage.db, out)
    lines = export.read_text(encoding="utf-8").splitlines()
    lines[4], lines[5] = lines[5], lines[4]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    not_a_digest = tmp_path / "digest.json"
    not_a_digest.write_text('{"position": "twelve"}', encoding="utf-8")

    swapped = subprocess.run([sys.executable, "-I", str(CHAIN_MODULE), str(export)],
                             capture_output=True, text=True, check=False)
    no_digest = subprocess.run([sys.executable, "-I", str(CHAIN_MODULE), str(export),
                                "--digest", str(not_a_digest)],
                               capture_output=True, text=True, check=False)

    assert swapped.returncode == 1
    assert "FAILED at position 5: line 6 comes after position 6" in swapped.stderr
    assert no_digest.returncode == 1
    assert "has no integer position and head_hash" in no_digest.stderr
