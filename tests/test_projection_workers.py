"""Projection workers as separate processes on one PostgreSQL: one is active, the others
stand by, and a standby takes over when the active one is killed."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date

from ledger.program import OpenProgram
from ledger.service import Actor
from ledger.settings import Settings
from ledger.system import open_system
from projections import views

ADMIN = Actor("admin-1", "admin")


def a_program(program_id: str, region_code: str) -> OpenProgram:
    return OpenProgram(program_id=program_id, region_code=region_code,
                       region_name=f"Region {region_code}", fiscal_year=2024,
                       agreement_ref=f"PKS/{region_code}/2024", quota_total=100,
                       budget_idr={"APBD": 16_800_000}, coverage_start=date(2024, 3, 1),
                       coverage_end=date(2024, 12, 31))


class Worker:
    """`ledger projections run` in a process of its own, its stderr read as it comes."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "projections", "run", "--idle-wait", "0.05"],
            env=env, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)

    def says(self, words: str, within_s: float = 30) -> bool:
        return eventually(lambda: any(words in line for line in self.lines), within_s)


def eventually(condition, within_s: float = 30) -> bool:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_one_worker_is_active_and_a_standby_takes_over_when_it_is_killed(tmp_path,
                                                                         pg_service_url):
    settings = Settings(database_url=pg_service_url, data_dir=tmp_path / "data")
    env = {**os.environ, "LEDGER_DATABASE_URL": pg_service_url,
           "LEDGER_DATA_DIR": str(tmp_path / "data")}
    with open_system(settings) as system:
        # Given a program nobody has projected yet, and two workers started one after other
        system.ledger.open_program(a_program("kotamobagu-2024", "7174"), ADMIN)
        first = Worker(env)
        assert first.says("active:"), first.lines
        second = Worker(env)
        try:
            # Then only the first works; the second stands by
            assert second.says("standing by"), second.lines
            assert eventually(lambda: system.projections.lag() == 0)
            assert not any("active:" in line for line in second.lines)

            # When the active worker is killed outright and more is recorded
            first.process.send_signal(signal.SIGKILL)
            first.process.wait(timeout=30)
            system.ledger.open_program(a_program("makassar-2024", "7371"), ADMIN)

            # Then the standby takes over and catches up
            assert second.says("active:"), second.lines
            assert eventually(lambda: system.projections.lag() == 0)
        finally:
            for worker in (first, second):
                if worker.process.poll() is None:
                    worker.process.send_signal(signal.SIGTERM)
                    worker.process.wait(timeout=30)

        # ...and nothing was applied twice: the read models equal a rebuild from the log
        live = [views.program_summary(system.storage.db, p)
                for p in ("kotamobagu-2024", "makassar-2024")]
        system.projections.rebuild()
        rebuilt = [views.program_summary(system.storage.db, p)
                   for p in ("kotamobagu-2024", "makassar-2024")]
    assert live == rebuilt and None not in live
    assert second.process.returncode == 0
