"""``ledger audit`` as an auditor runs it: verify, keep a digest, export, verify elsewhere."""

import json
import subprocess
import sys

from ledger import chain, program
from ledger.storage import open_storage
from tests.test_cli import OPEN_ARGS, ledger, village_list


def test_an_auditor_verifies_keeps_a_digest_exports_and_detects_tampering(tmp_path, owner_db_url):
    def run(*args: str):
        return ledger(tmp_path, *args, database_url=owner_db_url)

    assert run(*OPEN_ARGS).returncode == 0
    assert run("import", "candidates", "--program", "kotamobagu-2024",
               str(village_list(tmp_path))).returncode == 0
    digest = tmp_path / "digest.json"
    assert run("audit", "digest", "--output", str(digest)).returncode == 0
    kept = json.loads(digest.read_text())
    assert kept["position"] == 3 and len(kept["head_hash"]) == 64

    verified = run("audit", "verify", "--digest", str(digest))
    assert verified.returncode == 0 and "OK: 3 events verified" in verified.stdout
    export = tmp_path / "kotamobagu.jsonl"
    exported = run("audit", "export", "--program", "kotamobagu-2024", "--output", str(export))
    assert exported.returncode == 0 and "exported 3 events" in exported.stderr
    first = json.loads(export.read_text(encoding="utf-8").splitlines()[0])
    assert (first["position"], first["type"]) == (1, "program.opened.v1")
    elsewhere = subprocess.run([sys.executable, "-I", chain.__file__, str(export), "--digest",
                                str(digest)], capture_output=True, text=True, check=False)
    assert elsewhere.returncode == 0, elsewhere.stderr
    history = run("audit", "history", str(program.stream_id("kotamobagu-2024")))
    assert history.returncode == 0
    assert "program.opened.v1" in history.stdout and "2024-03-01" in history.stdout

    storage = open_storage(owner_db_url)
    try:
        _edit_event(storage, 2)
    finally:
        storage.close()

    tampered = run("audit", "verify")
    assert tampered.returncode == 1
    assert "(log-tampered) [position]: position 2:" in tampered.stderr
    assert run("audit", "unknown").returncode == 2


def _edit_event(storage, position: int) -> None:
    """An insider's edit, around the append-only trigger."""
    with storage.db.transaction() as tx:
        if storage.dialect == "postgresql":
            tx.execute("SET LOCAL session_replication_role = replica")
            tx.execute("UPDATE stored_events SET state = state || '\\x20'::bytea "
                       "WHERE notification_id = :position", {"position": position})
        else:
            tx.execute("DROP TRIGGER stored_events_no_update")
            tx.execute("UPDATE stored_events SET state = state || x'20' WHERE rowid = :position",
                       {"position": position})


