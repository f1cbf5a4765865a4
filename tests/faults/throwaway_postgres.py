"""A PostgreSQL server of the test's own, on a loopback port, that the test may stop and start.

Never the shared server the other tests use (tests/postgres_server.py): restarting that one
would break everyone's tests. The binaries are the ``pgserver`` package's (a test
dependency, so every machine that runs the suite has them). PostgreSQL refuses to run as
root; there it runs as the system user pgserver makes for the same reason."""

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pgserver._commands import POSTGRES_BIN_PATH

START_TIMEOUT_S = 60


class ThrowawayPostgres:
    def __init__(self, root: Path, port: int, user: str | None) -> None:
        self.root, self.port, self._user = root, port, user
        self.pgdata = root / "pgdata"
        self.log = root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_of(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def initdb(self) -> None:
        self._run("initdb", "-D", str(self.pgdata), "--auth=trust", "--encoding=utf8",
                  "-U", "postgres")

    def start(self) -> None:
        # Loopback TCP only, and the socket in our own directory (not /var/run/postgresql).
        self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.log), "-w",
                  "-t", str(START_TIMEOUT_S), "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.root} -c max_connections=50",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", str(START_TIMEOUT_S),
                  "-m", mode, "stop")

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run([str(POSTGRES_BIN_PATH / program), *args], user=self._user,
                                capture_output=True, text=True, timeout=START_TIMEOUT_S + 30)
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{program} failed: {result.stderr}\n{log[-3000:]}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A fresh running server; stopped (immediately) and deleted afterwards."""
    user = None
    root = Path(tempfile.mkdtemp(prefix="ledger-fault-pg-"))
    try:
        if os.geteuid() == 0:
            import pwd

            from pgserver.utils import ensure_user_exists

            user = "pgserver"
            ensure_user_exists(user)
            account = pwd.getpwnam(user)
            os.chown(root, account.pw_uid, account.pw_gid)
        server = ThrowawayPostgres(root, _free_port(), user)
        server.initdb()
        server.start()
        try:
            yield server
        finally:
            try:
                server.stop("immediate")
            except RuntimeError:
                pass  # already stopped
    finally:
        shutil.rmtree(root, ignore_errors=True)
