"""Back up and restore as docs/operations.md says, and prove the restored log whole.

The PostgreSQL client tools are run for real: a missing pg_dump fails the test, it
never skips it (.ci/run puts the server's own tools on PATH when they are not there).
"""

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ledger.settings import Settings
from ledger.system import open_system
from projections import views
from tests.postgres_server import as_service_role, fresh_postgres_database
from tests.test_cli import OPEN_ARGS, ledger, village_list


@dataclass(frozen=True)
class Restored:
    owner_url: str
    service_url: str
    keys: Path
    digest: Path
    host: Path
    """Where the restored ledger is opened: a data directory that never saw the original."""

    def ledger(self, *args: str, env: dict[str, str] | None = None):
        keys = {"LEDGER_KEY_FILE": str(self.keys)} if env is None else env
        return ledger(self.host, *args, database_url=self.service_url, env=keys)


def client_tool(name: str) -> str:
    path = shutil.which(name)
    assert path, (f"{name} is not on PATH: install the PostgreSQL client tools of the "
                  "server's major version (or newer) to back up and restore the ledger")
    return path


def run_tool(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{Path(args[0]).name} failed: {done.stderr}"


@contextlib.contextmanager
def restored_backup(tmp_path: Path, pg_url: str) -> Iterator[Restored]:
    """A ledger with a program, two participants and a digest kept apart (with the key
    file), dumped whole with pg_dump -Fc and restored with pg_restore into an empty
    database, as its owner."""
    kept_apart = tmp_path / "kept-apart"
    kept_apart.mkdir()
    keys, digest = kept_apart / "keys.json", kept_apart / "digest.json"
    assert ledger(tmp_path, "keys", "new", "--output", str(keys)).returncode == 0
    with_keys = {"LEDGER_KEY_FILE": str(keys)}

    def original(*args: str):
        return ledger(tmp_path, *args, database_url=pg_url, env=with_keys)

    assert original(*OPEN_ARGS).returncode == 0
    imported = original("import", "candidates", "--program", "kotamobagu-2024",
                        str(village_list(tmp_path)))
    assert "2 accepted" in imported.stdout, imported.stderr
    assert original("audit", "digest", "--output", str(digest)).returncode == 0

    dump = tmp_path / "ledger.dump"
    run_tool(client_tool("pg_dump"), "--format=custom", f"--file={dump}", pg_url)
    with fresh_postgres_database() as restored_url:
        # One transaction and stop at the first error: a half-restored ledger must not
        # look like a restored one.
        run_tool(client_tool("pg_restore"), "--exit-on-error", "--single-transaction",
                 f"--dbname={restored_url}", str(dump))
        # A dump carries no planner statistics; without them stream reads scan the log.
        run_tool(client_tool("vacuumdb"), "--analyze-in-stages", f"--dbname={restored_url}")
        yield Restored(owner_url=restored_url, service_url=as_service_role(restored_url),
                       keys=keys, digest=digest, host=tmp_path / "restored-host")


def test_a_restored_backup_verifies_against_the_digest_kept_before_it(tmp_path, pg_url):
    with restored_backup(tmp_path, pg_url) as restored:
        # When the restored ledger is verified against the digest, as the service's role
        verified = restored.ledger("audit", "verify", "--digest", str(restored.digest))
        plain = restored.ledger("audit", "verify")
        without_keys = restored.ledger("audit", "verify", env={})

        # Then it holds the digest's prefix, whole
        assert verified.returncode == 0, verified.stderr
        assert "OK: 3 events verified (up to the digest's position 3)" in verified.stdout
        assert plain.returncode == 0 and "OK: 3 events verified (the log)" in plain.stdout
        # And its personal data opens with the key file kept apart, and only with it
        assert without_keys.returncode == 1
        assert "refused (keys-unusable)" in without_keys.stderr
        settings = Settings.from_env({"LEDGER_DATABASE_URL": restored.service_url,
                                      "LEDGER_KEY_FILE": str(restored.keys),
                                      "LEDGER_DATA_DIR": str(restored.host / "data")})
        with open_system(settings) as system:
            rows = views.participants(system.storage.db, "kotamobagu-2024")
            names = [system.keyring.unseal(row["full_name_sealed"]) for row in rows]
        assert names == ["Siti Mokodompit", "Siti Mokodompit"]
        assert {row["status"] for row in rows} == {"awaiting_verification"}
        assert len({row["nik_masked"] for row in rows}) == 2
        # And the planner knows the restored log again
        with psycopg.connect(restored.owner_url) as conn:
            analysed = conn.execute("SELECT count(*) FROM pg_stats "
                                    "WHERE tablename = 'stored_events'").fetchone()[0]
        assert analysed > 0


def test_a_restored_backup_with_one_row_altered_fails_verify_naming_the_position(
        tmp_path, pg_url):
    with restored_backup(tmp_path, pg_url) as restored:
        # When an insider with every right edits the second event after the restore
        with psycopg.connect(restored.owner_url) as conn:
            conn.execute("SET LOCAL session_replication_role = replica")  # past the trigger
            conn.execute("UPDATE stored_events SET state = state || '\\x20'::bytea "
                         "WHERE notification_id = 2")

        verified = restored.ledger("audit", "verify", "--digest", str(restored.digest))

        # Then verify refuses the restored log, naming the altered position
        assert verified.returncode == 1
        assert "refused (log-tampered) [position]: position 2:" in verified.stderr
