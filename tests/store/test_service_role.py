"""The service's database role (docs/audit.md): a login member of ledger_service runs the
whole ledger, yet cannot change what was recorded, and every table has grants decided for it.

The rest of the suite runs as that role too (``db_url`` in tests/conftest.py); this file
proves the refusals and keeps the grants complete.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import psycopg
import pytest

from ledger import audit
from ledger.participant import Enroll
from ledger.program import OpenProgram
from ledger.registry import InMemoryRegistry
from ledger.service import Actor
from ledger.settings import Settings
from ledger.storage import migrations_dir, pending_migrations
from ledger.system import System, open_system
from ledger.verification import RegistryRecord
from tests.postgres_server import SERVICE_LOGIN, as_service_role, fresh_postgres_database
from tests.test_cli import OPEN_ARGS
from tests.unit.scenario import KOTAMOBAGU_OPENED, siti

pytestmark = pytest.mark.postgres

CLERK = Actor("clerk-1", "enrollment_clerk")
PROGRAM = "kotamobagu-2024"

HISTORY = {"stored_events": "topic", "event_chain": "hash", "key_fingerprints": "fingerprint"}
"""Tables of what the ledger recorded, not rebuilt from the log: each with a column to edit."""
READ_MODELS = (
    "projection_positions", "program_summary", "program_budget", "program_cohort_quota",
    "program_cohort_status", "participant_status", "participant_reasons", "bill_summary",
    "bill_payments", "bill_refunds", "contribution_months", "member_months", "program_months",
    "program_funding", "claim_summary", "claim_stages",
)
GRANTS = {
    **{table: {"SELECT", "INSERT"} for table in HISTORY},
    **{table: {"SELECT", "INSERT", "UPDATE", "DELETE"} for table in READ_MODELS},
    "_yoyo_migration": {"SELECT"}, "_yoyo_version": {"SELECT"}, "_yoyo_log": set(),
    "yoyo_lock": set(),
    "api_tokens": {"SELECT", "INSERT", "UPDATE"},  # revoked, never deleted
    "stored_events_notification_id_seq": {"USAGE", "UPDATE"},
    "idempotency_keys": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "program_snapshots": {"SELECT", "INSERT", "UPDATE", "DELETE"},  # a cache of folds
    "as_of_checkpoints": {"SELECT", "INSERT", "DELETE"},  # a cache of replays, pruned
}
"""Every table and sequence of the schema, with exactly the rights of ledger_service on it:
a table a migration adds must be decided here and granted there."""
PRIVILEGES = {"r": ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"),
              "S": ("USAGE", "SELECT", "UPDATE")}


def enroll_one(system: System) -> None:
    """Open the program and enroll one participant: verified against the registry first."""
    system.ledger._clock = lambda: datetime(2024, 6, 1, 9, tzinfo=UTC)
    system.ledger.open_program(
        msgspec.convert(msgspec.to_builtins(KOTAMOBAGU_OPENED), type=OpenProgram), CLERK)
    pid = system.ledger.submit(PROGRAM, siti(), CLERK).participant_id
    system.ledger.verify(PROGRAM, pid, InMemoryRegistry("dukcapil:test.csv", [RegistryRecord(
        nik=siti().nik, full_name=siti().full_name, birth_date=siti().birth_date,
        sex=siti().sex, mother_name=siti().mother_name)]), CLERK)
    system.ledger.enroll(PROGRAM, pid, Enroll(kpj="24012345678", coverage_start=date(2024, 3, 1),
                                              batch="tahap-1"), CLERK)


def history_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in HISTORY}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Iterator[tuple[str, str, dict[str, int]]]:
    """A ledger the service role has recorded an enrollment in: the owner's URL, the
    service's, and how many rows each history table holds."""
    with fresh_postgres_database() as owner_url:
        service_url = as_service_role(owner_url)
        settings = Settings(database_url=service_url, data_dir=tmp_path_factory.mktemp("data"))
        with open_system(settings) as system:
            enroll_one(system)
        yield owner_url, service_url, history_counts(owner_url)


def test_the_ledger_runs_as_a_member_of_ledger_service(pg_service_url, tmp_path):
    with open_system(Settings(database_url=pg_service_url, data_dir=tmp_path)) as system:
        enroll_one(system)
        system.projections.catch_up()
        replayed = system.projections.rebuild()

        with system.storage.db.snapshot() as tx:
            role = tx.fetchone(
                "SELECT current_user AS name, "
                "pg_has_role('ledger_service', 'MEMBER') AS in_ledger_service, "
                "pg_has_role(relowner, 'USAGE') AS owns_the_log "
                "FROM pg_class WHERE oid = 'stored_events'::regclass")
            statuses = tx.fetchall("SELECT status FROM participant_status")
        assert role == {"name": SERVICE_LOGIN, "in_ledger_service": True,
                        "owns_the_log": False}
        assert replayed == system.store.head() > 0
        assert [row["status"] for row in statuses] == ["enrolled"]
        assert audit.verify(system.storage.db).ok


@pytest.mark.parametrize("statement", [
    *(f"UPDATE {table} SET {column} = {column}" for table, column in HISTORY.items()),
    *(f"DELETE FROM {table}" for table in HISTORY),
    *(f"TRUNCATE {table}" for table in HISTORY),
    *(f"ALTER TABLE {table} DISABLE TRIGGER ALL" for table in HISTORY),
    *(f"DROP TABLE {table}" for table in HISTORY),
    "SET session_replication_role = replica",  # which would skip the append-only triggers
])
def test_the_service_role_cannot_change_history(recorded, statement):
    owner_url, service_url, counts = recorded
    assert all(counts.values())

    with psycopg.connect(service_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)

    assert history_counts(owner_url) == counts


def test_every_table_and_sequence_has_the_grants_decided_for_it(recorded):
    owner_url, _, _ = recorded
    with psycopg.connect(owner_url) as conn:
        relations = conn.execute(
            "SELECT relname, relkind, pg_has_role('ledger_service', relowner, 'USAGE') "
            "FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
            "AND relkind IN ('r', 'p', 'v', 'm', 'f', 'S')").fetchall()
        granted = {name: {privilege for privilege in PRIVILEGES.get(kind, PRIVILEGES["r"])
                          if conn.execute(f"SELECT has_{'sequence' if kind == 'S' else 'table'}"
                                          "_privilege('ledger_service', %s, %s)",
                                          (name, privilege)).fetchone()[0]}
                   for name, kind, _ in relations}

    assert granted == GRANTS, "decide ledger_service's grants here and in a migration"
    assert not [name for name, _, owned in relations if owned], "it must own nothing"


@pytest.fixture
def pending(tmp_path: Path) -> Path:
    """The migrations with one more than the database has, one only the owner may apply."""
    root = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), root)
    (root / "postgresql" / "0099_pending.sql").write_text(
        "-- depends: 0008_service_role\nCOMMENT ON TABLE stored_events IS 'the log';\n")
    return root


def ledger(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The ``ledger`` command with only the given LEDGER_ settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    return subprocess.run([sys.executable, "-m", "ledger.cli", *args],
                          env={**clean, "LEDGER_DATA_DIR": str(tmp_path / "data"), **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [
    ("db", "upgrade"), ("program", "show", PROGRAM), ("serve", "--port", "0")])
def test_the_service_role_is_told_to_migrate_as_the_owner(pg_service_url, pending, tmp_path,
                                                         command):
    refused = ledger(tmp_path, *command, LEDGER_DATABASE_URL=pg_service_url,
                     LEDGER_MIGRATIONS_DIR=str(pending))

    assert refused.returncode == 1, refused.stderr
    assert (f"refused (invalid-input) [LEDGER_MIGRATION_DATABASE_URL]: database role "
            f"{SERVICE_LOGIN} may not create or alter the ledger's tables") in refused.stderr
    assert "Traceback" not in refused.stderr


def test_db_upgrade_migrates_as_the_owner_and_the_service_then_runs(pg_url, pg_service_url,
                                                                   pending, tmp_path):
    service = {"LEDGER_DATABASE_URL": pg_service_url, "LEDGER_MIGRATIONS_DIR": str(pending)}

    upgraded = ledger(tmp_path, "db", "upgrade", LEDGER_MIGRATION_DATABASE_URL=pg_url, **service)
    opened = ledger(tmp_path, *OPEN_ARGS, **service)

    assert upgraded.returncode == 0 and "applied: 0099_pending" in upgraded.stdout
    assert opened.returncode == 0, opened.stderr


def test_opening_the_ledger_migrates_as_the_owner_when_one_is_set(pg_url, pg_service_url,
                                                                   pending, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("LEDGER_MIGRATIONS_DIR", str(pending))
    settings = Settings(database_url=pg_service_url, migration_url=pg_url, data_dir=tmp_path)

    with open_system(settings) as system:
        system.ledger.open_program(
            msgspec.convert(msgspec.to_builtins(KOTAMOBAGU_OPENED), type=OpenProgram), CLERK)

    assert pending_migrations(pg_url) == []
