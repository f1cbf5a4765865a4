"""One active projection worker per database; the others stand by and take over.

Two workers would never apply an event twice (the runner locks each projection's
position row), but both would read and decide every batch, and the loser's work is
thrown away. So a worker first takes a PostgreSQL session-level advisory lock on a
connection of its own and holds it while it runs; the others poll for it. When the
active worker dies, however it dies (SIGKILL, a lost host), PostgreSQL ends its
session and releases the lock, and a standby takes over where the positions say.
SQLite serves one host and needs no such lock: every worker is active.
"""

import threading
from collections.abc import Callable

from ledger.storage import Database

WORKER_LOCK = "pekerja-rentan-ledger projection worker"


def run_when_active(db: Database, stop: threading.Event, work: Callable[[], None],
                    say: Callable[[str], None], poll_s: float = 1.0) -> None:
    """Wait until this process holds the worker lock (or ``stop`` is set), then ``work``
    while holding it."""
    if db.dialect != "postgresql":
        work()
        return
    with db.session() as session:
        said = False
        while not stop.is_set():
            with session.transaction() as tx:
                held = tx.fetchone("SELECT pg_try_advisory_lock(hashtextextended(:name, 0)) "
                                   "AS held", {"name": WORKER_LOCK})["held"]
            if held:
                say("active: this worker keeps the projections caught up")
                work()
                return
            if not said:
                say("standing by: another projection worker is active")
                said = True
            stop.wait(poll_s)
