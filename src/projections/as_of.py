"""Read models as they stood at an earlier point of the log, by the same projection code.

An auditor asks for the numbers "as of" a log position, a recorded time, or the end
of a month (what the ledger had recorded by then). Whichever, the projections are
replayed from the start of the log up to that position into a throwaway SQLite
database, and the usual read queries run there: there is no second implementation
of any figure, status or timeline to drift from the live one.

A recorded time is turned into a position by binary search, which rests on recorded
times rising with positions. They do, but for one edge: a command stamps its events
when it decides, just before appending them, so two commands racing each other may
append in the other order than their stamps, a few milliseconds apart. A time
falling between those two stamps may then take in the later-stamped event and not
the earlier one; any other time finds exactly what was recorded at or before it. (A
server clock set back would break the rule until it caught up again.)
"""

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from ledger import periods
from ledger.claim import Claim
from ledger.errors import InvalidInput
from ledger.service import utc_now
from ledger.storage import Database, Tx, open_storage
from ledger.store import EventStore
from ledger.system import System, read_models
from projections import views
from projections.claims import decode_state
from projections.claims_report import ClaimTimeline, claim_timeline
from projections.runner import Projection, ProjectionRunner

R = TypeVar("R")
TIME_EXAMPLE = "2024-07-01T00:00:00+07:00 or 2024-06-30T17:00:00Z"


class LogPoint(NamedTuple):
    position: int
    """The read models stand after the log's first ``position`` events."""
    day: date
    """The business day figures are measured on (a claim overdue, months committed): the
    day of the recorded time as the caller wrote it, or today for a bare position."""


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


def log_point(store: EventStore, position: int | None, at: str | None) -> LogPoint:
    """Where to replay to: a log ``position``, or the last one recorded ``at`` a time."""
    if (position is None) == (at is None):
        raise InvalidInput("give exactly one of position (a log position) or at (a recorded "
                           "time)", field="position")
    if at is None:
        return LogPoint(position, utc_now().date())
    moment = recorded_time(at)
    return LogPoint(position_at(store, moment), moment.date())


def recorded_time(text: str, field: str = "at") -> datetime:
    """An ISO 8601 time with its UTC offset, not in the future. A date alone or a time
    without offset is refused: which day's start, in WIB, WITA, WIT or UTC, would be a guess
    (``as_of=YYYY-MM`` is there for the end of a month)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(f"{field} must be an ISO 8601 time with its UTC offset, e.g. "
                           f"{TIME_EXAMPLE} (in a URL, write + as %2B)", field=field)
    if moment > utc_now():
        raise InvalidInput(f"{field} {text} is in the future: the log has nothing recorded "
                           "then yet", field=field)
    return moment


def position_at(store: EventStore, moment: datetime) -> int:
    """The last log position recorded at or before ``moment`` (0 when nothing was)."""
    return _last_position(store, lambda recorded_at: recorded_at <= moment)


def position_at_end_of(store: EventStore, period: str) -> int:
    """The last log position recorded before the month after ``period`` began (UTC)."""
    cutoff = datetime.combine(periods.first_day(periods.shift(periods.parse(period, "as_of"),
                                                              1)), datetime.min.time(), UTC)
    return _last_position(store, lambda recorded_at: recorded_at < cutoff)


def _last_position(store: EventStore, recorded_by: Callable[[datetime], bool]) -> int:
    """The last position whose recorded time passes ``recorded_by``. Recorded times rise
    with positions (see the module's docstring), so a binary search reads a few events."""
    low, high = 0, store.head()
    while low < high:
        middle = (low + high + 1) // 2
        (event,) = store.read_log(middle - 1, 1)
        if recorded_by(event.meta.recorded_at):
            low = middle
        else:
            high = middle - 1
    return low


def participant_as_of(system: System, program_id: str, participant_id: str,
                      position: int) -> dict[str, Any] | None:
    """The participant's row as ``views.participant`` reads it, after the log's first
    ``position`` events; None when the log held no such participant yet."""
    with _replayed_read_models(system, position) as db:
        return views.participant(db, program_id, participant_id)


def claim_as_of(system: System, program_id: str, claim_id: str,
                point: LogPoint) -> tuple[Claim, ClaimTimeline] | None:
    """The claim as the claims projection had folded it and its timeline, at ``point``;
    None when the log held no such claim yet."""
    with _replayed_read_models(system, point.position) as db, db.snapshot() as tx:
        timeline = claim_timeline(tx, program_id, claim_id, point.day)
        row = tx.fetchone("SELECT state FROM claim_summary "
                          "WHERE program_id = :program_id AND claim_id = :claim_id",
                          {"program_id": program_id, "claim_id": claim_id})
    if timeline is None or row is None:
        return None
    return decode_state(row), timeline


def program_as_of(system: System, program_id: str, point: LogPoint,
                  query: Callable[[Tx, str, date], R | None]) -> R | None:
    """A program report's ``query`` (budget, findings) at ``point``; None when the log held
    no such program yet."""
    with _replayed_read_models(system, point.position) as db, db.snapshot() as tx:
        return query(tx, program_id, point.day)


def _replayed_read_models(system: System, position: int) -> AbstractContextManager[Database]:
    return replayed(system.store, read_models(system.keyring), position)
