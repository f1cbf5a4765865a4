"""The ``ledger`` command as a data officer runs it: a subprocess, real files, a real database."""

import csv
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from ledger.demo_data import build_nik
from ledger.program import OpenProgram
from ledger.service import Actor
from ledger.settings import Settings
from ledger.system import open_system
from tests.unit.scenario import siti

CANDIDATE_HEADER = ["nik", "full_name", "birth_date", "sex", "mother_name", "address",
                    "village", "occupation", "cohort", "submitted_by"]


def ledger(tmp_path: Path, *args: str, database_url: str | None = None,
           env: dict[str, str] | None = None):
    env = {**{k: v for k, v in os.environ.items() if k != "LEDGER_DATABASE_URL"}, **(env or {})}
    env["LEDGER_DATA_DIR"] = str(tmp_path / "data")
    if database_url:
        env["LEDGER_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "ledger.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def run(tmp_path, db_url):
    return lambda *args: ledger(tmp_path, *args, database_url=db_url)


def village_list(tmp_path: Path) -> Path:
    path = tmp_path / "gogagoman.csv"
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(CANDIDATE_HEADER)
        for serial, sex in ((1, "P"), (2, "P"), (3, "X")):
            writer.writerow([build_nik("717401", date(1985, 3, 5), "P", serial),
                             "Siti Mokodompit", "1985-03-05", sex, "Nurhayati Paputungan",
                             "Jl. Adampe No. 4", "Gogagoman", "Pedagang Kaki Lima", "informal",
                             "Kelurahan Gogagoman"])
    return path


OPEN_ARGS = ("program", "open", "--id", "kotamobagu-2024", "--region-code", "7174",
             "--region-name", "Kota Kotamobagu", "--fiscal-year", "2024",
             "--agreement-ref", "PKS/7174/BPJSTK/II/2024", "--quota", "9000",
             "--cohort", "informal=9000", "--budget", "APBD=1512000000",
             "--coverage-start", "2024-03-01", "--coverage-end", "2024-12-31")


def test_db_upgrade_says_where_the_data_is_and_what_it_applied(tmp_path):
    first = ledger(tmp_path, "db", "upgrade")
    again = ledger(tmp_path, "db", "upgrade")

    assert first.returncode == 0, first.stderr
    assert f"data dir: {tmp_path / 'data'}" in first.stderr
    assert f"database: sqlite:///{tmp_path / 'data' / 'ledger.sqlite'}" in first.stderr
    assert f"personal-data keys: {tmp_path / 'data' / 'keys.json'}" in first.stderr
    assert "applied: 0001_event_store" in first.stdout
    assert "already up to date" in again.stdout


def test_a_program_is_opened_a_list_imported_and_the_program_shown(run, tmp_path):
    opened = run(*OPEN_ARGS)
    imported = run("import", "candidates", "--program", "kotamobagu-2024",
                   str(village_list(tmp_path)))
    shown = run("program", "show", "kotamobagu-2024")

    assert opened.returncode == 0, opened.stderr
    assert "quota 9,000: 0 enrolled, 9,000 left" in opened.stdout
    assert imported.returncode == 0, imported.stderr
    assert "3 rows, 2 accepted, 0 unchanged, 1 rejected" in imported.stdout
    report = next(line for line in imported.stdout.splitlines()
                  if line.startswith("rejection report: "))
    assert Path(report.split(": ", 1)[1]).parent == tmp_path / "data" / "reports"
    assert "4  sex" in imported.stdout  # the refused row, and the field to blame
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"awaiting_verification +2\n", shown.stdout)
    assert "Gogagoman" in shown.stdout


def test_an_unknown_program_exits_1_with_the_problem_and_no_traceback(run, tmp_path):
    result = run("import", "candidates", "--program", "makassar-2024",
                 str(village_list(tmp_path)))

    assert result.returncode == 1
    assert "refused (program-not-found) [program_id]: no program 'makassar-2024'" in (
        result.stderr)
    assert "Traceback" not in result.stderr


def test_a_malformed_file_exits_1_naming_the_missing_columns(run, tmp_path):
    run(*OPEN_ARGS)
    path = tmp_path / "wrong.csv"
    path.write_text("nik,name\n7174014503850001,Siti\n", encoding="utf-8")

    result = run("import", "candidates", "--program", "kotamobagu-2024", str(path))

    assert result.returncode == 1
    assert "import-rejected" in result.stderr and "full_name" in result.stderr


def test_usage_errors_exit_2(tmp_path):
    assert ledger(tmp_path, "program", "open", "--id", "x").returncode == 2
    assert ledger(tmp_path, *OPEN_ARGS[:-1], "2024-12-32").returncode == 2
    assert ledger(tmp_path, "import", "kpj", "--program", "x", "f.csv").returncode == 2


def test_projections_report_their_lag_and_rebuild(run, tmp_path):
    run(*OPEN_ARGS)

    status = run("projections", "status")
    rebuilt = run("projections", "rebuild", "participants")
    unknown = run("projections", "rebuild", "heirs")

    assert "log head: 1" in status.stdout and "participants" in status.stdout
    assert rebuilt.returncode == 0 and "rebuilt participants" in rebuilt.stdout
    assert unknown.returncode == 1 and "no projection 'heirs'" in unknown.stderr


def test_a_projection_worker_follows_the_log_and_stops_cleanly_on_sigterm(tmp_path, db_url):
    # Given a program opened by one command, whose projections nobody has caught up yet
    settings = Settings(database_url=db_url, data_dir=tmp_path / "data")
    with open_system(settings) as system:
        system.ledger.open_program(_open_kotamobagu(), _clerk())
        assert system.projections.lag() > 0
        env = {**os.environ, "LEDGER_DATABASE_URL": db_url,
               "LEDGER_DATA_DIR": str(tmp_path / "data")}

        # When a worker runs beside it
        worker = subprocess.Popen([sys.executable, "-m", "ledger.cli", "projections", "run",
                                   "--idle-wait", "0.05"], env=env, stderr=subprocess.PIPE,
                                  text=True)
        try:
            deadline = time.monotonic() + 60
            while system.projections.lag() > 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            caught_up = system.projections.lag() == 0
        finally:
            worker.send_signal(signal.SIGTERM)
            _, errors = worker.communicate(timeout=30)

    # Then it brought the projections up to the head of the log, and stopped when told
    assert caught_up, errors
    assert worker.returncode == 0, errors
    assert "projection worker running" in errors


def test_sigterm_arriving_inside_the_workers_wait_still_stops_it():
    # Given a worker's stop event, and SIGTERM arriving while its loop is inside
    # stop.wait, holding the event's lock (where it once caught a worker that then
    # ignored every signal: about one CI run in four)
    script = ("import signal\n"
              "from ledger.cli import _stopped_by_signals\n"
              "stop = _stopped_by_signals()\n"
              "with stop._cond:\n"
              "    signal.raise_signal(signal.SIGTERM)\n"
              "print('stopped' if stop.wait(10) else 'still running')\n")

    # When the process goes on from there
    ended = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=30)

    # Then the event was set and the process ended
    assert (ended.returncode, ended.stdout) == (0, "stopped\n"), ended.stderr


def test_checkpoints_kept_every_few_hours_follow_the_log_until_sigterm(tmp_path, db_url):
    # Given a program, and a checkpoint service keeping it every 3.6 seconds
    settings = Settings(database_url=db_url, data_dir=tmp_path / "data")
    with open_system(settings) as system:
        system.ledger.open_program(_open_kotamobagu(), _clerk())
        env = {**os.environ, "LEDGER_DATABASE_URL": db_url,
               "LEDGER_DATA_DIR": str(tmp_path / "data")}
        service = subprocess.Popen([sys.executable, "-m", "ledger.cli", "projections",
                                    "checkpoint", "--every", "0.001"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = service.stdout.readline()
            # When the log grows before its next round
            system.ledger.submit("kotamobagu-2024", siti(), _clerk())
            head = system.store.head()
            second = service.stdout.readline()
        finally:
            service.send_signal(signal.SIGTERM)
            _, errors = service.communicate(timeout=30)

    # Then each round kept the program at the head it found, and it stopped when told
    assert first.startswith("kotamobagu-2024: checkpoint at log position "), errors
    assert second.startswith(f"kotamobagu-2024: checkpoint at log position {head:,} "), errors
    assert service.returncode == 0, errors


def test_checkpoints_every_zero_hours_are_refused_as_a_usage_error(tmp_path, db_url):
    refused = ledger(tmp_path, "projections", "checkpoint", "--every", "0", database_url=db_url)

    assert refused.returncode == 2
    assert "--every: '0' is not a number of hours above 0" in refused.stderr


def _open_kotamobagu() -> OpenProgram:
    return OpenProgram(program_id="kotamobagu-2024", region_code="7174",
                       region_name="Kota Kotamobagu", fiscal_year=2024,
                       agreement_ref="PKS/7174/BPJSTK/II/2024", quota_total=9000,
                       budget_idr={"APBD": 1_512_000_000}, coverage_start=date(2024, 3, 1),
                       coverage_end=date(2024, 12, 31))


def _clerk() -> Actor:
    return Actor("clerk-1", "enrollment_clerk")
