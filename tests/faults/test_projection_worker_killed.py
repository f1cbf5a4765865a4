"""A projection worker killed with SIGKILL mid-batch, then started again: the read models end
equal to a rebuild from the log, nothing applied twice.

A worker applies a batch and moves the projections' positions in one transaction
(projections/runner.py), so a kill leaves the last committed batch and its position, and the
next worker goes on from there. Applying a batch twice would show as doubled counts
(program_cohort_status, submissions), which a rebuild from the log does not have."""

import signal
import subprocess

import msgspec
import pytest

from ledger.participant import CandidateData
from ledger.settings import Settings
from ledger.system import open_system
from tests.faults.faults import (
    CLERK,
    PROGRAM,
    assert_whole,
    kotamobagu,
    ledger_env,
    ledger_process,
    villager,
    wait_until,
)

ROWS = 15_000  # three of the runner's 5,000-event batches, so a kill can land after one


@pytest.mark.timeout(240)
def test_a_projection_worker_killed_mid_batch_and_restarted_applies_each_event_once(
        tmp_path, db_url):
    # Given a log of submissions that no projection has applied yet
    data_dir = tmp_path / "data"
    with open_system(Settings(database_url=db_url, data_dir=data_dir)) as system:
        system.ledger.open_program(kotamobagu(), CLERK)
        candidates = [msgspec.convert(villager(n), CandidateData) for n in range(ROWS)]
        for start in range(0, ROWS, 2000):
            system.ledger.submit_batch(PROGRAM, candidates[start:start + 2000], CLERK)
        head = system.store.head()
        assert min(system.projections.positions().values()) == 0
        env = ledger_env(db_url, data_dir)
        run = ("projections", "run", "--idle-wait", "0.05")

        def slowest() -> int:
            return min(system.projections.positions().values())

        # When a worker is killed outright once it has applied some batches, not all
        worker = ledger_process(env, *run, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: slowest() > 0 or worker.poll() is not None, 120,
                       "the worker's first batch")
            worker.send_signal(signal.SIGKILL)
        finally:
            worker.kill()
            _, errors = worker.communicate(timeout=30)
        assert worker.returncode == -signal.SIGKILL, errors
        assert 0 < slowest() < head, (slowest(), head)  # it died with work left to do

        # And a new worker is started and left to catch up
        restarted = ledger_process(env, *run, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: system.projections.lag() == 0 or restarted.poll() is not None,
                       120, "the restarted worker to catch up", every_s=0.05)
        finally:
            restarted.send_signal(signal.SIGTERM)
            _, errors = restarted.communicate(timeout=30)
        assert restarted.returncode == 0, errors

        # Then the read models are exactly a rebuild's: each event applied once
        assert system.projections.lag() == 0
        assert_whole(system, [villager(n)["nik"] for n in range(ROWS)])
