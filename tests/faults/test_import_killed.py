"""An import killed with SIGKILL halfway, then run again: every row of the list exactly once.

The import appends a batch of rows per transaction (ledger/importer.py), so a kill leaves
whole batches behind and the second run must add only what the first never committed."""

import signal
import subprocess
import time

import pytest

from ledger.importer import BATCH_ROWS
from ledger.settings import Settings
from ledger.system import open_system
from tests.faults.faults import (
    CLERK,
    PROGRAM,
    assert_whole,
    kotamobagu,
    ledger_env,
    ledger_process,
    village_list,
    wait_until,
)

ROWS = 6 * BATCH_ROWS  # several batches, so that a kill can land between two of them


@pytest.mark.timeout(240)
def test_an_import_killed_halfway_and_run_again_holds_every_row_exactly_once(tmp_path, db_url):
    # Given a program and a village list of several batches
    data_dir = tmp_path / "data"
    niks = village_list(tmp_path / "gogagoman.csv", ROWS)
    with open_system(Settings(database_url=db_url, data_dir=data_dir)) as system:
        system.ledger.open_program(kotamobagu(), CLERK)
        opened = system.store.head()
        env = ledger_env(db_url, data_dir)
        command = ("import", "candidates", "--program", PROGRAM, str(tmp_path / "gogagoman.csv"))

        # When its import is killed outright once some batches, not all, are in the log
        first = ledger_process(env, *command, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: system.store.head() - opened >= BATCH_ROWS or
                       first.poll() is not None, 120, "the first batch in the log")
            first.send_signal(signal.SIGKILL)
        finally:
            first.kill()
            _, errors = first.communicate(timeout=30)
        # A COMMIT already sent when the client died still lands on the server: let it.
        time.sleep(1)
        submitted_before_kill = system.store.head() - opened
        # SIGKILL, not an exit: the process had not finished (else the test proves nothing)
        assert first.returncode == -signal.SIGKILL, errors
        assert 0 < submitted_before_kill < ROWS, submitted_before_kill

        # And the same file is imported again, to the end
        again = ledger_process(env, *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        out, errors = again.communicate(timeout=180)

        # Then the second run added exactly the rows the first never committed
        assert again.returncode == 0, errors
        assert (f"{ROWS:,} rows, {ROWS - submitted_before_kill:,} accepted, "
                f"{submitted_before_kill:,} unchanged, 0 rejected") in out
        # And every row is one participant with one submission, the chain verifies, and
        # the read models equal a rebuild from the log
        assert_whole(system, niks)
