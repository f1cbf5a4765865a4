"""Read models as they stood at an earlier point of the log, by the same projection code.

An auditor asks for the numbers "as of" a log position, or as of the end of a
month (what the ledger had recorded by then). Either way the projections are
replayed from the start of the log up to that position into a throwaway SQLite
database, and the usual report queries run there: there is no second
implementation of any figure to drift from the live one.
"""

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ledger import periods
from ledger.errors import InvalidInput
from ledger.storage import Database, open_storage
from ledger.store import EventStore
from projections.runner import Projection, ProjectionRunner


@contextmanager
def replayed(store: EventStore, projections: Sequence[Projection],
             position: int) -> Iterator[Database]:
    """A read-only view of the read models after the log's first ``position`` events."""
    head = store.head()
    if not 0 <= position <= head:
        raise InvalidInput(f"position must be between 0 and the log's head {head}",
                           field="position")
    with tempfile.TemporaryDirectory(prefix="ledger-as-of-") as tmp:
        scratch = open_storage(f"sqlite:///{Path(tmp) / 'as-of.sqlite'}", pool_size=1)
        try:
            ProjectionRunner(store, scratch.db, projections).catch_up(upto=position)
            yield scratch.db
        finally:
            scratch.close()


def position_at_end_of(store: EventStore, period: str) -> int:
    """The last log position recorded before the month after ``period`` began (UTC).
    Recorded times rise with positions, so a binary search reads a few events only."""
    cutoff = datetime.combine(periods.first_day(periods.shift(periods.parse(period, "as_of"),
                                                              1)), datetime.min.time(), UTC)
    low, high = 0, store.head()
    while low < high:
        middle = (low + high + 1) // 2
        (event,) = store.read_log(middle - 1, 1)
        if event.meta.recorded_at < cutoff:
            low = middle
        else:
            high = middle - 1
    return low
