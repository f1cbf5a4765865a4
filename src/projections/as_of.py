"""Read models as they stood at an earlier point of the log, by the same projection code.

An auditor asks for the numbers "as of" a log position, a recorded time, or the end
of a month (what the ledger had recorded by then). Whichever, the projections are
replayed from the start of the log up to that position into a throwaway SQLite
database, and the usual read queries run there: there is no second implementation
of any figure, status or timeline to drift from the live one.

A question replays only what it reads (its ``Scope``): the events of the streams
whose events make its rows, in global order, into the projections that write them.
A participant is its own stream; a claim too; a program's budget and findings are
the program's stream, its participants' and its bills', plus, for the findings
across programs (the same NIK paid by two programs), every other program's
participant of a NIK the program holds, with that program's stream and bills. The
streams are listed from the live read models, caught up to the position first: a
stream is never deleted, so one that held events by then is listed now, and a
listed stream's later events are left out by position. The events a scope leaves
out write no row the question reads (the tests replay both ways and compare).

A program's replay starts from its latest usable checkpoint at or before the position
(``projections/checkpoints.py``): the same replay, kept at an earlier position. A replay
that took longer than ``KEEP_AFTER_S`` is kept as one.

A recorded time is turned into a position by binary search, which rests on recorded
times rising with positions. They do, but for one edge: a command stamps its events
when it decides, just before appending them, so two commands racing each other may
append in the other order than their stamps, a few milliseconds apart. A time
falling between those two stamps may then take in the later-stamped event and not
the earlier one; any other time finds exactly what was recorded at or before it. (A
server clock set back would break the rule until it caught up again.)
"""

import tempfile
import time
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

import structlog

from ledger import claim, periods, program
from ledger.claim import Claim
from ledger.collector import collecting_less
from ledger.errors import InvalidInput
from ledger.events import PERSONAL_FIELDS, Event, PersonalFields
from ledger.service import utc_now
from ledger.storage import Database, Tx, open_storage
from ledger.store import EventStore, Recorded
from ledger.system import System, read_models
from projections import views
from projections.checkpoints import Checkpoints
from projections.claims import opened_state
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


class Scope(NamedTuple):
    """What a question reads: the streams whose events write its rows, and the
    projections (of ``read_models``) that write them."""
    streams: frozenset[UUID]
    projections: list[Projection]
    checkpoint: str | None = None
    """The name its replays are kept under as checkpoints (``projections/checkpoints.py``),
    for a scope large enough to be worth it: a program's."""


KEEP_AFTER_S = 2.0
"""A replay that took longer than this is kept as a checkpoint: longer than an as-of is
meant to take (issue 5), so the next question at or after it does not take it again."""
_log = structlog.get_logger("projections.as_of")


@contextmanager
def replayed(store: EventStore, projections: Sequence[Projection], position: int,
             streams: Collection[UUID] | None = None) -> Iterator[Database]:
    """A read-only view of the read models after the log's first ``position`` events;
    of only the events of ``streams`` among them when given."""
    _check_position(store, position)
    with tempfile.TemporaryDirectory(prefix="ledger-as-of-") as tmp:
        path = Path(tmp) / "as-of.sqlite"
        path.write_bytes(_empty_read_models())
        log = store if streams is None else StreamsLog(store, streams, position)
        with _replayed_into(path, log, projections, position) as db:
            yield db


def _check_position(store: EventStore, position: int) -> None:
    head = store.head()
    if not 0 <= position <= head:
        raise InvalidInput(f"position must be between 0 and the log's head {head}",
                           field="position")


@contextmanager
def _replayed_into(path: Path, log: "EventStore | StreamsLog", projections: Sequence[Projection],
                   position: int) -> Iterator[Database]:
    """The read models in the SQLite file at ``path`` (empty ones, or a checkpoint's) with
    the events of ``log`` up to ``position`` applied that they do not hold yet."""
    # Migrated already: empty read models are made by the migrations, and a checkpoint is
    # used only by the code (and migrations) that made it. Looking again took 0.1 s.
    scratch = open_storage(f"sqlite:///{path}", apply_migrations=False, pool_size=1)
    try:
        with collecting_less():  # a replay is batch work, as a rebuild is
            ProjectionRunner(log, scratch.db, projections).catch_up(upto=position)
        yield scratch.db
    finally:
        scratch.close()


@cache
def _empty_read_models() -> bytes:
    """An empty SQLite database with every migration applied (a few hundred KB), made once
    per process and written out for each replay: applying the migrations took about half
    a second, as long as replaying a small program. Kept in memory, so that nothing is
    left on disk by a process that is killed."""
    with tempfile.TemporaryDirectory(prefix="ledger-as-of-empty-") as tmp:
        path = Path(tmp) / "empty.sqlite"
        open_storage(f"sqlite:///{path}", pool_size=1).close()
        return path.read_bytes()


class StreamsLog:
    """The events of some streams up to a position, read as ``ProjectionRunner`` reads the
    log (``read_log``): in global order, a batch at a time, with their own positions, so
    the runner applies each once and records where it stands as it does over the log."""

    def __init__(self, store: EventStore, streams: Collection[UUID], upto: int,
                 after: int = 0) -> None:
        self._store = store
        self._positions = store.positions_of(streams, upto, after)

    def read_log(self, after: int, limit: int, upto: int | None = None,
                 opened: PersonalFields = PERSONAL_FIELDS,
                 types: tuple[type[Event], ...] = ()) -> list[Recorded]:
        # Every event of the streams, whatever ``types`` asks for: the projections pass
        # over those they do not apply, as they did before the runner asked for types.
        start = bisect_right(self._positions, after)
        stop = len(self._positions) if upto is None else bisect_right(self._positions, upto)
        return self._store.read_positions(self._positions[start:min(stop, start + limit)],
                                          opened)

    def head(self) -> int:
        return self._store.head()


def replayed_scope(system: System, scope: Scope, position: int,
                   keep: bool = False) -> AbstractContextManager[Database]:
    """The scope's read models after the log's first ``position`` events: replayed from
    the latest usable checkpoint when it has one, and kept as one when the replay was long (or
    ``keep`` says so)."""
    if scope.checkpoint is None:
        return replayed(system.store, scope.projections, position, scope.streams)
    return _replayed_from_checkpoint(system, scope, scope.checkpoint, position, keep)


@contextmanager
def _replayed_from_checkpoint(system: System, scope: Scope, name: str, position: int,
                              keep: bool) -> Iterator[Database]:
    _check_position(system.store, position)
    checkpoints = Checkpoints(system.storage.db, system.store, system.keyring)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ledger-as-of-") as tmp:
        path = Path(tmp) / "as-of.sqlite"
        from_position, log = _start(system.store, checkpoints, name, scope, position, path)
        with _replayed_into(path, log, scope.projections, position) as db:
            seconds = time.perf_counter() - began
            yield db
        # The file is whole now that its connection closed.
        kept = (position > from_position and (keep or seconds >= KEEP_AFTER_S)
                and checkpoints.keep(name, position, scope.streams, path.read_bytes()))
    _log.info("as_of_replayed", scope=name, position=position, from_position=from_position,
              replay_s=round(seconds, 3), kept=kept)


def _start(store: EventStore, checkpoints: Checkpoints, name: str, scope: Scope,
           position: int, path: Path) -> tuple[int, StreamsLog]:
    """Write the read models to replay on into ``path``: the latest usable checkpoint's,
    else empty ones; return the position they stand at and the scope's events after it.
    A checkpoint is checked and written out on a thread while the database finds the
    events after it: each takes about half a second for a 35,000-member program."""
    with ThreadPoolExecutor(1) as pool:
        for candidate in checkpoints.candidates(name, position):
            restored = pool.submit(checkpoints.restore, name, candidate, scope.streams, path)
            log = StreamsLog(store, scope.streams, position, candidate.position)
            if restored.result():
                return candidate.position, log
    path.write_bytes(_empty_read_models())
    return 0, StreamsLog(store, scope.streams, position)


def participant_scope(system: System, participant_id: str) -> Scope:
    """A participant's row and reasons: the participants projection folds each person
    from their own stream alone."""
    return Scope(frozenset({UUID(participant_id)}), _projections(system, "participants"))


def claim_scope(system: System, program_id: str, claim_id: str) -> Scope:
    """A claim's summary and stages: the claims projection folds each claim from its own
    stream alone."""
    return Scope(frozenset({claim.stream_id(program_id, claim_id)}),
                 _projections(system, "claims"))


def program_scope(system: System, program_id: str, position: int) -> Scope:
    """A program's budget and findings: the program, its participants and bills (payments,
    reversals and refunds are on the bill's stream; their reference streams hold only
    ``ReferenceUsed``, which no projection reads), and for the findings across programs
    every other program's participant of a NIK this program holds, with that program's
    stream and bills, which make that member's paid months."""
    system.projections.catch_up(upto=position)
    key = {"program_id": program_id}
    with system.storage.db.snapshot() as tx:
        others = tx.fetchall(
            "SELECT DISTINCT o.participant_id AS participant_id, o.program_id AS program_id "
            "FROM participant_status s JOIN participant_status o ON o.nik_hash = s.nik_hash "
            "AND o.program_id <> s.program_id WHERE s.program_id = :program_id", key)
        programs = sorted({program_id} | {row["program_id"] for row in others})
        condition, params = tx.any_of("program_id", programs)
        ids = [row["id"] for row in tx.fetchall(
            f"SELECT stream_id AS id FROM bill_summary WHERE {condition}", params)]
        ids += [row["id"] for row in tx.fetchall(
            "SELECT participant_id AS id FROM participant_status "
            "WHERE program_id = :program_id", key)]
    streams = {program.stream_id(p) for p in programs}
    streams |= {UUID(str(i)) for i in ids} | {UUID(row["participant_id"]) for row in others}
    return Scope(frozenset(streams),
                 _projections(system, "programs", "participants", "contributions"),
                 checkpoint=f"program:{program_id}")


def keep_checkpoint(system: System, program_id: str, position: int) -> None:
    """Replay the program's budget and findings to ``position`` and keep the result as a
    checkpoint, so that an as-of at or after it replays only what came later."""
    with replayed_scope(system, program_scope(system, program_id, position), position,
                        keep=True):
        pass


def claims_scope(system: System, program_id: str, position: int) -> Scope:
    """A program's claims report: the program (whether it is held) and its claims."""
    system.projections.catch_up(upto=position)
    with system.storage.db.snapshot() as tx:
        ids = [row["id"] for row in tx.fetchall(
            "SELECT stream_id AS id FROM claim_summary WHERE program_id = :program_id",
            {"program_id": program_id})]
    return Scope(frozenset({program.stream_id(program_id)} | {UUID(str(i)) for i in ids}),
                 _projections(system, "programs", "claims"))


def _projections(system: System, *names: str) -> list[Projection]:
    """The named read models, in ``read_models``' order (the order a batch applies in)."""
    return [p for p in read_models(system.keyring) if p.name in names]


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
    with replayed_scope(system, participant_scope(system, participant_id), position) as db:
        return views.participant(db, program_id, participant_id)


def claim_as_of(system: System, program_id: str, claim_id: str,
                point: LogPoint) -> tuple[Claim, ClaimTimeline] | None:
    """The claim as the claims projection had folded it and its timeline, at ``point``;
    None when the log held no such claim yet."""
    scope = claim_scope(system, program_id, claim_id)
    with replayed_scope(system, scope, point.position) as db, db.snapshot() as tx:
        timeline = claim_timeline(tx, program_id, claim_id, point.day)
        row = tx.fetchone("SELECT state FROM claim_summary "
                          "WHERE program_id = :program_id AND claim_id = :claim_id",
                          {"program_id": program_id, "claim_id": claim_id})
    if timeline is None or row is None:
        return None
    return opened_state(row, system.keyring), timeline


def program_as_of(system: System, program_id: str, point: LogPoint,
                  query: Callable[[Tx, str, date], R | None]) -> R | None:
    """A program report's ``query`` (budget, findings) at ``point``; None when the log held
    no such program yet."""
    scope = program_scope(system, program_id, point.position)
    with replayed_scope(system, scope, point.position) as db, db.snapshot() as tx:
        return query(tx, program_id, point.day)
