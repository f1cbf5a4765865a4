"""PostgreSQL restarted in the middle of a load: nothing acknowledged is lost, nothing doubled.

Clerks' clients submit distinct candidates over HTTP to a real API process while the
database under it is stopped and started again. Each client does what docs/commands.md asks
of one: a request that got no final answer is sent again with the same Idempotency-Key. The
database is a throwaway server of this test's own (tests/faults/throwaway_postgres.py), never
the one the other tests share."""

import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg
import pytest

from ledger.settings import Settings
from ledger.system import open_system
from ledger.tokens import ENROLLMENT_CLERK, NATIONAL, create_token, utc_now
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
from tests.faults.throwaway_postgres import throwaway_postgres
from tests.postgres_server import as_service_role

CLIENTS = 4
ROWS = 240
DOWN_S = 1.5
"""How long the database stays stopped: long enough for every client to run into it."""
LOAD_DEADLINE_S = 90


class Clerks:
    """Client threads submitting rows 0..ROWS-1 between them, each retried until a final
    answer; what every attempt got is counted, apart while the database was down."""

    def __init__(self, base_url: str, secret: str) -> None:
        self._base_url, self._secret = base_url, secret
        self.acknowledged: dict[int, str] = {}
        """Row -> the participant id a 2xx answer gave it."""
        self.outcomes: Counter[str] = Counter()
        self.outcomes_while_down: Counter[str] = Counter()
        self.problems: dict[str, dict] = {}
        """One problem document per status, to report."""
        self.database_down = threading.Event()
        self._lock = threading.Lock()
        self._deadline = time.monotonic() + LOAD_DEADLINE_S
        self._threads = [threading.Thread(target=self._work, args=(rows,), daemon=True)
                         for rows in (range(c, ROWS, CLIENTS) for c in range(CLIENTS))]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=max(self._deadline - time.monotonic(), 0) + 30)

    def _work(self, rows: range) -> None:
        with httpx.Client(base_url=self._base_url, timeout=20,
                          headers={"Authorization": f"Bearer {self._secret}"}) as client:
            for n in rows:
                while time.monotonic() < self._deadline:
                    outcome, participant_id = self._submit(client, n)
                    if participant_id is not None:
                        with self._lock:
                            self.acknowledged[n] = participant_id
                        break
                    time.sleep(0.05)

    def _submit(self, client: httpx.Client, n: int) -> tuple[str, str | None]:
        down = self.database_down.is_set()
        try:
            response = client.post(f"/programs/{PROGRAM}/participants", json=villager(n),
                                   headers={"Idempotency-Key": f"gogagoman-list/row-{n}"})
            outcome = str(response.status_code)
        except httpx.TransportError as error:
            response, outcome = None, f"no answer ({type(error).__name__})"
        with self._lock:
            self.outcomes[outcome] += 1
            if down or self.database_down.is_set():  # begun or ended during the outage
                self.outcomes_while_down[outcome] += 1
            if response is not None and response.status_code >= 300:
                self.problems.setdefault(outcome, {
                    "content-type": response.headers.get("content-type"),
                    "retry-after": response.headers.get("retry-after"),
                    "body": response.text[:300]})
        if response is not None and response.is_success:
            return outcome, response.json()["participant_id"]
        return outcome, None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_a_postgres_restart_mid_load_loses_nothing_acknowledged_and_doubles_nothing(tmp_path):
    with throwaway_postgres() as server:
        # Given an API process, as the service's role, over a migrated ledger with a program
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE ledger")
        db_url = as_service_role(server.url_of("ledger"))
        data_dir = tmp_path / "data"
        with open_system(Settings(database_url=db_url, data_dir=data_dir)) as system:
            system.ledger.open_program(kotamobagu(), CLERK)
            _, secret = create_token(system.storage.db, "clerk-gogagoman", ENROLLMENT_CLERK,
                                     [NATIONAL], 1, utc_now())
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        with open(tmp_path / "api.log", "w") as api_log:
            api = ledger_process(ledger_env(db_url, data_dir), "serve", "--port", str(port),
                                 stdout=api_log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: _answers(base_url), 60, "the API to answer", every_s=0.1)

            # When clerks submit a village list, row by row, retrying what got no answer
            clerks = Clerks(base_url, secret)
            clerks.start()
            wait_until(lambda: len(clerks.acknowledged) >= ROWS // 5, 60,
                       "the first rows acknowledged")
            # And the database is stopped under them mid-load, and started again
            clerks.database_down.set()
            server.stop("fast")
            time.sleep(DOWN_S)
            ready_while_down = httpx.get(f"{base_url}/ready", timeout=20)
            # (row 0 again, with its key: were it to get through, it would change nothing)
            submit_while_down = httpx.post(
                f"{base_url}/programs/{PROGRAM}/participants", json=villager(0), timeout=20,
                headers={"Authorization": f"Bearer {secret}",
                         "Idempotency-Key": "gogagoman-list/row-0"})
            server.start()
            clerks.database_down.clear()
            clerks.join()
        finally:
            api.send_signal(signal.SIGTERM)
            try:
                api.wait(timeout=30)
            except subprocess.TimeoutExpired:
                api.kill()
                api.wait(timeout=30)
        report = (f"outcomes {dict(clerks.outcomes)}, while down "
                  f"{dict(clerks.outcomes_while_down)}, problems {clerks.problems}; "
                  f"API log: {_tail(tmp_path / 'api.log')}")

        # Then the clients saw the outage as a problem to retry: 503 database-unavailable
        # with Retry-After, never a 500 (a bug). A retry may also meet its own first try
        # still running (409 idempotency-key-in-flight) or get no answer in time.
        assert submit_while_down.status_code == 503, submit_while_down.text
        assert submit_while_down.json()["code"] == "database-unavailable"
        assert submit_while_down.headers["Retry-After"] == "1"
        assert not {o for o in clerks.outcomes if o.startswith("5") and o != "503"}, report
        assert set(clerks.outcomes) - {"200", "201", "409", "503"} <= {
            o for o in clerks.outcomes if o.startswith("no answer")}, report
        if clerks.outcomes["503"]:  # the clients' own, mostly on connections the restart cut
            assert '"code":"database-unavailable"' in clerks.problems["503"]["body"], report
            assert clerks.problems["503"]["retry-after"] is not None, report
        assert ready_while_down.status_code == 503, ready_while_down.text
        assert ready_while_down.json()["checks"]["database"]["ok"] is False
        # And every row got through in the end: no key left claimed by a request the
        # outage broke (it would answer 409 in-flight for IN_FLIGHT_LEASE_S, 15 minutes)
        assert sorted(clerks.acknowledged) == list(range(ROWS)), report

        # And everything acknowledged is in the log under the id it was acknowledged with,
        # each person submitted once, the chain verifies, the read models equal a rebuild
        with open_system(Settings(database_url=db_url, data_dir=data_dir)) as system:
            niks = [villager(n)["nik"] for n in range(ROWS)]
            assert {n: str(system.ledger.participant_id(PROGRAM, villager(n)["nik"]))
                    for n in range(ROWS)} == clerks.acknowledged
            assert_whole(system, niks)


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
