"""Bulk imports: village candidate lists, registry extracts and KPJ assignment files.

Each import streams its file through ``ledger.csvfile`` and hands rows to the
service in batches of ``BATCH_ROWS``; the service decides a batch and appends
it in one transaction, so memory stays flat on a million rows and a crash loses
at most the batch in flight. Running an import again appends nothing new: the
deciders treat a candidate row identical to any submission on record as a
repeat (so an old file cannot undo a later row or a correction), and ignore
verdicts and enrollments already on record.

Refused rows go to the rejection report (row, field, reason), in row order per
batch, with the domain's reason and never a person's data.

The file is read and parsed a batch ahead, in a thread of its own: while the
service waits for PostgreSQL to take one batch (psycopg lets go of the GIL
meanwhile), the next is parsed. Batches are still decided and appended one at
a time, in file order, by the calling thread.
"""

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Generic, Literal, NamedTuple, TypeVar
from uuid import UUID

import msgspec
from tqdm import tqdm

from ledger.collector import collecting_less
from ledger.csvfile import (
    CsvRows,
    Rejection,
    RejectionLog,
    parse_date,
    parse_nik,
    parse_sex,
    required,
)
from ledger.errors import (
    AlreadyEnrolled,
    ImportRejected,
    InvalidInput,
    LedgerError,
    OutsideCoverageWindow,
)
from ledger.participant import CandidateData, Enroll
from ledger.registry import CivilRegistry
from ledger.registry_files import load_registry
from ledger.service import Actor, RowResult
from ledger.system import System
from projections.views import participant_ids_with_status

__all__ = ["ImportReport", "Rejection", "import_candidates", "import_kpj", "import_registry"]

BATCH_ROWS = 2000
CANDIDATE_COLUMNS = ("nik", "full_name", "birth_date", "sex", "mother_name", "address",
                     "village", "occupation", "cohort", "submitted_by")
KPJ_COLUMNS = ("nik", "kpj")
# A refusal that names no field still has a column a clerk can look at.
_FIELD_OF_CODE = {"quota-full": "quota", "participant-not-found": "nik", "not-matched": "nik",
                  "already-enrolled": "nik", "already-terminated": "nik"}
# Refusals whose detail quotes a person's data (the KPJ on record) get a plain one instead.
_PLAIN_DETAIL = {"already-enrolled": "the participant is already enrolled"}

T = TypeVar("T")



class ImportReport(msgspec.Struct):
    """What one import did. For ``registry``, rows are the extract's (and refused P3KE rows),
    and matched, mismatched and unchanged count the participants it verified."""

    kind: str
    rows: int
    accepted: int
    unchanged: int
    rejected: int
    events_appended: int
    rejections: list[Rejection]
    """The first 1,000; all of them are in the file at ``rejections_path``."""
    rejections_path: str | None
    matched: int = 0
    mismatched: int = 0
    enrolled: int = 0


class _Run:
    """Counts of one import and its rejection report, filled batch by batch."""

    def __init__(self, kind: Literal["candidates", "registry", "kpj"],
                 log: RejectionLog) -> None:
        self.report = ImportReport(kind=kind, rows=0, accepted=0, unchanged=0, rejected=0,
                                   events_appended=0, rejections=log.kept,
                                   rejections_path=None)
        self._log = log
        self._pending: list[Rejection] = []

    def refuse(self, row: int, error: LedgerError, default_field: str = "_row") -> None:
        self._pending.append(_rejection(row, error, default_field))

    def refuse_row(self, rejection: Rejection) -> None:
        self._pending.append(rejection)

    def close_batch(self) -> None:
        for rejection in sorted(self._pending, key=lambda r: r.row):
            self._log.add(rejection)
        self.report.rejected += len(self._pending)
        self._pending.clear()

    def finish(self) -> ImportReport:
        self.close_batch()
        self.report.rejections_path = self._log.written_path
        return self.report


def import_candidates(system: System, program_id: str, path: Path, actor: Actor, *,
                      registry: CivilRegistry | None = None,
                      rejections_path: Path | None = None,
                      progress: bool = False) -> ImportReport:
    """Submit every valid row of a village list; with ``registry``, verify each row in the
    same pass and transaction (a clean new row appends two events)."""
    system.ledger.program(program_id)  # an unknown program is refused before the file is read
    with (collecting_less(), RejectionLog(rejections_path) as log, _then_catch_up(system),
          CsvRows(path, CANDIDATE_COLUMNS, progress=progress) as rows,
          _read_ahead(_chunks(rows, _candidate)) as chunks):
        run = _Run("candidates", log)
        for batch in _batches(chunks, run):
            results = system.ledger.submit_batch(
                program_id, [data for _, data in batch], actor,
                _command_id("candidates", path, batch), registry=registry)
            _count(run, [n for n, _ in batch], results)
            if registry is not None:
                _count_verdicts(run, results)
            run.close_batch()
        return run.finish()


def import_registry(system: System, program_id: str, path: Path, actor: Actor, *,
                    p3ke_path: Path | None = None, rejections_path: Path | None = None,
                    progress: bool = False) -> ImportReport:
    """Verify the program's candidates awaiting verification, and re-verify the mismatched
    ones (the registry may have been corrected), against this extract."""
    system.ledger.program(program_id)
    with collecting_less(), RejectionLog(rejections_path) as log, _then_catch_up(system):
        run = _Run("registry", log)
        registry = load_registry(path, p3ke_path, on_rejected=run.refuse_row,
                                 progress=progress)
        run.report.accepted = len(registry)
        run.close_batch()
        run.report.rows = run.report.accepted + run.report.rejected
        system.projections.catch_up()  # the participants to verify are read from projections
        for status in ("awaiting_verification", "mismatched"):
            with tqdm(unit="participants", desc=f"verifying {status}", disable=not progress,
                      leave=False) as bar:
                for chunk in _pages_of(system, program_id, status):
                    _verify(system, program_id, chunk, registry, actor, run,
                            f"import:registry:{registry.source}")
                    bar.update(len(chunk))
        return run.finish()


def _pages_of(system: System, program_id: str, status: str) -> Iterator[list[UUID]]:
    """The participants in ``status``, page by page in id order: keyset pages visit each at
    most once in a pass, even if a projection worker moves their status meanwhile."""
    after = None
    while page := participant_ids_with_status(system.storage.db, program_id, status,
                                              after=after, limit=BATCH_ROWS):
        yield [UUID(pid) for pid in page]
        after = page[-1]


def import_kpj(system: System, program_id: str, path: Path, actor: Actor, *,
               coverage_start: date, batch: str, rejections_path: Path | None = None,
               progress: bool = False) -> ImportReport:
    """Enroll each matched participant named in a BPJS TK assignment file (nik, kpj) with
    its KPJ; one already enrolled with the same KPJ is unchanged, not refused."""
    _check_enrollment_batch(system, program_id, coverage_start, batch)
    with (collecting_less(), RejectionLog(rejections_path) as log, _then_catch_up(system),
          CsvRows(path, KPJ_COLUMNS, progress=progress) as rows,
          _read_ahead(_chunks(rows, _kpj_row)) as chunks):
        run = _Run("kpj", log)
        for chunk in _batches(chunks, run):
            items = [(system.ledger.participant_id(program_id, nik),
                      Enroll(kpj=kpj, coverage_start=coverage_start, batch=batch))
                     for _, (nik, kpj) in chunk]
            results = system.ledger.enroll_batch(program_id, items, actor,
                                                 _command_id("kpj", path, chunk))
            _count_enrollments(run, [n for n, _ in chunk], items, results)
            run.close_batch()
        return run.finish()


@contextmanager
def _then_catch_up(system: System) -> Iterator[None]:
    """Bring the projections up to date after an import, also after one stopped midway
    by a refusal: the batches it appended before stopping stay, and should show."""
    try:
        yield
    except LedgerError:
        system.projections.catch_up()
        raise
    system.projections.catch_up()


class _Chunk(NamedTuple, Generic[T]):
    """A batch's worth of the file: the rows that parsed, those refused on the way, how
    many rows were read for it, and the refusal of the whole file that ended it, if one did."""

    parsed: list[tuple[int, T]]
    refused: list[Rejection]
    rows: int
    stop: ImportRejected | None = None


def _chunks(rows: CsvRows, parse: Callable[[dict[str, str]], T]) -> Iterator[_Chunk[T]]:
    """Parsed rows in batches, refusing on the way those that do not parse. Refusals
    count towards the batch size, so a file of nothing but bad rows stays bounded too.
    Touches nothing but the file, so it can run in the read-ahead thread."""
    parsed: list[tuple[int, T]] = []
    refused: list[Rejection] = []
    read = 0
    try:
        for item in rows:
            read += 1
            if isinstance(item, Rejection):
                refused.append(item)
            else:
                try:
                    parsed.append((item.number, parse(item.values)))
                except InvalidInput as error:
                    refused.append(_rejection(item.number, error))
            if len(parsed) + len(refused) >= BATCH_ROWS:
                yield _Chunk(parsed, refused, read)
                parsed, refused, read = [], [], 0
    except ImportRejected as stop:
        # The rows before the unreadable one are whole: they are imported before it stops.
        yield _Chunk(parsed, refused, read, stop)
        return
    if parsed or refused:
        yield _Chunk(parsed, refused, read)


def _batches(chunks: Iterator[_Chunk[T]], run: _Run) -> Iterator[list[tuple[int, T]]]:
    """The parsed rows of each chunk, for the caller to decide and append, with the
    chunk's refusals and row count put in the report."""
    for chunk in chunks:
        run.report.rows += chunk.rows
        for rejection in chunk.refused:
            run.refuse_row(rejection)
        if chunk.parsed:
            yield chunk.parsed
        run.close_batch()
        if chunk.stop is not None:
            raise ImportRejected(
                f"{chunk.stop.detail}. The {run.report.rows} rows before it were processed "
                "and stay imported; nothing after it was read. Fix the file and import it "
                "again: rows already imported append nothing the second time",
                field=chunk.stop.field) from None


class _ReaderFailed(NamedTuple):
    error: BaseException


_END = object()


@contextmanager
def _read_ahead(items: Iterator[T]) -> Iterator[Iterator[T]]:
    """``items`` produced one ahead in a thread: the next is made while the caller works
    on one, and no further (memory stays at two batches). On leaving the block the thread
    is stopped and joined, so the file it reads can be closed right after. An error in
    the thread is raised in the caller's, at the item where it happened."""
    handed: queue.Queue = queue.Queue()
    taken: queue.Queue = queue.Queue()
    stopped = threading.Event()

    def hand(item: object) -> bool:
        """Hand ``item`` over and wait until the caller takes it; False once stopped."""
        handed.put(item)
        while not stopped.is_set():
            try:
                taken.get(timeout=0.1)
                return True
            except queue.Empty:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand(item):
                    return
        except BaseException as error:  # raised again in the caller's thread
            hand(_ReaderFailed(error))
            return
        hand(_END)

    def consume() -> Iterator[T]:
        while (item := handed.get()) is not _END:
            taken.put(None)
            if isinstance(item, _ReaderFailed):
                raise item.error
            yield item

    reader = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    reader.start()
    try:
        yield consume()
    finally:
        stopped.set()
        reader.join()


def _candidate(values: dict[str, str]) -> CandidateData:
    # The decider checks what every submission must satisfy (NIK, blanks, cohort);
    # here only what must be parsed before there is a command at all.
    return CandidateData(
        nik=required(values, "nik"), full_name=values["full_name"],
        birth_date=parse_date(values, "birth_date"), sex=parse_sex(values),
        mother_name=values["mother_name"], address=values["address"],
        village=values["village"], occupation=values["occupation"], cohort=values["cohort"],
        submitted_by=values["submitted_by"])


def _rejection(row: int, error: LedgerError, default_field: str = "_row") -> Rejection:
    field = error.field or _FIELD_OF_CODE.get(error.code, default_field)
    return Rejection(row, field, _PLAIN_DETAIL.get(error.code, error.detail))


def _kpj_row(values: dict[str, str]) -> tuple[str, str]:
    return parse_nik(values), required(values, "kpj")


def _command_id(kind: str, path: Path, batch: Sequence[tuple[int, object]]) -> str:
    return f"import:{kind}:{path.name}:rows {batch[0][0]}-{batch[-1][0]}"


def _count(run: _Run, numbers: Sequence[int], results: Sequence[RowResult]) -> None:
    report = run.report
    for number, result in zip(numbers, results, strict=True):
        if result.error is not None:
            run.refuse(number, result.error)
        elif result.appended:
            report.accepted += 1
        else:
            report.unchanged += 1
        report.events_appended += result.appended


def _verify(system: System, program_id: str, participant_ids: Sequence[UUID],
            registry: CivilRegistry, actor: Actor, run: _Run, command_id: str) -> None:
    """Verify against ``registry``; a verdict already on record appends nothing. Enrolled
    and terminated participants are past verification and are left alone."""
    ids = list(dict.fromkeys(participant_ids))  # one NIK twice in a batch is one person
    results = system.ledger.verify_batch(program_id, ids, registry, actor, command_id)
    run.report.events_appended += sum(r.appended for r in results)
    run.report.unchanged += sum(1 for r in results if r.error is None and not r.appended)
    _count_verdicts(run, results)


def _count_verdicts(run: _Run, results: Sequence[RowResult]) -> None:
    """Count the verdicts this batch recorded, by the participant's status after it."""
    for result in results:
        if result.error is None and result.appended and result.state.status == "matched":
            run.report.matched += 1
        elif result.error is None and result.appended and result.state.status == "mismatched":
            run.report.mismatched += 1


def _count_enrollments(run: _Run, numbers: Sequence[int],
                       items: Sequence[tuple[UUID, Enroll]],
                       results: Sequence[RowResult]) -> None:
    report = run.report
    for number, (_, command), result in zip(numbers, items, results, strict=True):
        if isinstance(result.error, AlreadyEnrolled) and result.state.kpj == command.kpj:
            report.unchanged += 1
        elif isinstance(result.error, AlreadyEnrolled):
            run.refuse_row(Rejection(number, "kpj", "already enrolled with a different KPJ"))
        elif result.error is not None:
            run.refuse(number, result.error, "nik")
        else:
            report.accepted += 1
            report.enrolled += 1
        report.events_appended += result.appended


def _check_enrollment_batch(system: System, program_id: str, coverage_start: date,
                            batch: str) -> None:
    """Refuse up front what the decider would refuse on every row alike, so a wrong
    coverage start gives one clear error rather than a report of a million rows."""
    program = system.ledger.program(program_id)
    if not batch.strip():
        raise InvalidInput("name the enrollment batch (phase)", field="batch")
    if not program.coverage_start <= coverage_start <= program.coverage_end:
        raise OutsideCoverageWindow(
            f"coverage_start must fall within the program's coverage window "
            f"{program.coverage_start}..{program.coverage_end}", field="coverage_start")
