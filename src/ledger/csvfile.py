"""CSV files of the imports: a streaming, validating reader and the rejection report.

Village lists, registry extracts and KPJ assignment files arrive as spreadsheet
exports of any size, so nothing here holds more than one row (of at most
``MAX_LINE_BYTES``) in memory. Lines are read from the raw bytes with a bounded
``readline`` and only then decoded and handed to ``csv``: a 100 MB line is
skipped in chunks and refused as one row, and a stray Latin-1 byte costs that
row, not the file. Row numbers are those a spreadsheet shows (the header is row 1).

What is unusable before any row is read (no file, empty, not UTF-8 at the
start, missing columns) raises ``ImportRejected``; a bad row becomes a
``Rejection`` with field ``_line``; a quoted field that never closes leaves no
row boundary to resume from, so it stops the read with ``ImportRejected``.
"""

import codecs
import csv
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import BinaryIO, NamedTuple

import msgspec
from tqdm import tqdm

from ledger import nik as nik_rules
from ledger.errors import ImportRejected, InvalidInput
from ledger.events import Sex

MAX_LINE_BYTES = 64 * 1024
"""Longest row accepted, in bytes. csv's own field_size_limit (128 Ki characters by
default) is never the one to trip: a field is part of a row this guard already bounded."""

_BOM = codecs.BOM_UTF8
_SKIP_CHUNK = 64 * 1024
_PROGRESS_EVERY = 1000
_SEX = {"L": "L", "M": "L", "P": "P", "F": "P"}


class Rejection(msgspec.Struct, frozen=True):
    """One refused row of an import file. ``reason`` never quotes the row's personal data."""

    row: int
    field: str
    reason: str


class Row(NamedTuple):
    number: int
    values: dict[str, str]
    """The required columns, values stripped of surrounding blanks."""


class _BadLine(Exception):
    """One physical line that cannot be used; the read goes on after it."""


class _Lines:
    """Decoded lines of a byte stream, each bounded; csv.reader pulls from it."""

    def __init__(self, raw: BinaryIO, max_bytes: int) -> None:
        self._raw = raw
        self._max = max_bytes
        self.position = 0
        self.record_bytes = 0

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = self._raw.readline(self._max + 1)
        if not line:
            raise StopIteration
        if self.position == 0 and line.startswith(_BOM):
            line = line[len(_BOM):]
        self.position += len(line)
        self.record_bytes += len(line)
        if len(line) > self._max:
            self._skip_rest(line)
            raise _BadLine(f"the row is longer than the limit of {self._max} bytes")
        if self.record_bytes > self._max:
            raise ImportRejected(
                f"a quoted field runs on for more than {self._max} bytes without its closing "
                "quote, so the rows after it cannot be told apart", field="_line")
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _BadLine(f"not UTF-8 text: byte 0x{line[error.start]:02X} at byte "
                           f"{error.start + 1} of the row; save the file as CSV UTF-8") from None

    def _skip_rest(self, line: bytes) -> None:
        while not line.endswith(b"\n"):
            line = self._raw.readline(_SKIP_CHUNK)
            if not line:
                return
            self.position += len(line)


class CsvRows:
    """Data rows of one CSV file: iterate for ``Row`` or ``Rejection`` items."""

    def __init__(self, path: Path, required: Sequence[str], *, progress: bool = False,
                 max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.path = path
        self._required = tuple(required)
        try:
            self._raw = open(path, "rb")  # closed by close(), also when the header is refused
            size = path.stat().st_size
        except OSError as error:
            raise ImportRejected(f"cannot read {path.name}: {error.strerror}",
                                 field="file") from None
        self._bar = tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024,
                         desc=f"reading {path.name}", disable=not progress, leave=False)
        try:
            _check_utf8_start(self._raw, max_line_bytes)
            self._lines = _Lines(self._raw, max_line_bytes)
            self._reader = csv.reader(self._lines)
            self.row_number = 0
            self._columns, self._width = self._header()
            self._needed = max(self._columns.values()) + 1
        except BaseException:
            self.close()
            raise

    @property
    def position(self) -> int:
        """Bytes of the file read so far."""
        return self._lines.position

    def __iter__(self) -> Iterator[Row | Rejection]:
        while (record := self._next_record()) is not None:
            if isinstance(record, Rejection):
                yield record
            elif any(record):  # spreadsheets export blank rows; they are not rows
                yield self._row(record)
            if self.row_number % _PROGRESS_EVERY == 0:
                self._bar.update(self.position - self._bar.n)
        self._bar.update(self.position - self._bar.n)

    def close(self) -> None:
        self._bar.close()
        self._raw.close()

    def __enter__(self) -> "CsvRows":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _next_record(self) -> list[str] | Rejection | None:
        self._lines.record_bytes = 0
        try:
            record = next(self._reader)
        except StopIteration:
            return None
        except _BadLine as error:
            self.row_number += 1
            return Rejection(self.row_number, "_line", str(error))
        except csv.Error as error:
            self.row_number += 1
            return Rejection(self.row_number, "_line", f"the row is not valid CSV ({error})")
        except ImportRejected as error:
            raise ImportRejected(f"row {self.row_number + 1}: {error.detail}",
                                 field="_line") from None
        self.row_number += 1
        return record

    def _header(self) -> tuple[dict[str, int], int]:
        """Where each required column is, and how many columns the header has."""
        while isinstance(record := self._next_record(), list) and not any(record):
            pass
        if record is None:
            raise ImportRejected(f"{self.path.name} is empty: it needs a header row with the "
                                 f"columns {', '.join(self._required)}", field="file")
        if isinstance(record, Rejection):
            raise ImportRejected(f"row {record.row} (the header) cannot be read: "
                                 f"{record.reason}", field="_header")
        names = [name.strip().lower() for name in record]
        missing = [c for c in self._required if c not in names]
        if missing:
            raise ImportRejected(f"{self.path.name} lacks the column(s) {', '.join(missing)}; "
                                 f"the header row needs {', '.join(self._required)}",
                                 field="_header")
        twice = [c for c in self._required if names.count(c) > 1]
        if twice:
            raise ImportRejected(f"the column(s) {', '.join(twice)} appear more than once in "
                                 "the header row", field="_header")
        return {c: names.index(c) for c in self._required}, len(names)

    def _row(self, record: list[str]) -> Row | Rejection:
        # Short rows are fine while every required column is there; extra cells only if blank.
        if len(record) < self._needed or (len(record) > self._width
                                    and any(v.strip() for v in record[self._width:])):
            return Rejection(self.row_number, "_line", f"the row has {len(record)} fields "
                             f"where the header has {self._width}")
        return Row(self.row_number, {c: record[i].strip() for c, i in self._columns.items()})


def _check_utf8_start(raw: BinaryIO, limit: int) -> None:
    """Refuse a file that is not UTF-8 before anything is imported from it (a Latin-1 or
    UTF-16 export shows itself within the first rows); later bad bytes cost only their row."""
    head = raw.read(limit)
    raw.seek(0)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < limit)
    except UnicodeDecodeError as error:
        line = head.count(b"\n", 0, error.start) + 1
        raise ImportRejected(f"the file is not UTF-8 text: byte 0x{head[error.start]:02X} at "
                             f"line {line} (byte offset {error.start}); save it as CSV UTF-8",
                             field="file") from None


# Cells: the values every import parses the same way. Errors never quote the value.


def required(values: dict[str, str], field: str) -> str:
    value = values[field]
    if not value:
        raise InvalidInput(f"{field} is blank", field=field)
    return value


def parse_nik(values: dict[str, str], field: str = "nik") -> str:
    return nik_rules.parse(required(values, field))


def parse_date(values: dict[str, str], field: str) -> date:
    """ISO dates (1985-03-05), or day first (05-03-1985, 05/03/1985) as Indonesian sheets write."""
    value = required(values, field)
    if len(value) == 10 and value[4] == "-":  # ISO, as exports write it: parsed in C
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass  # 1985-02-30 and the like: refused below with the reason
    parts = value.replace("/", "-").split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise InvalidInput(f"{field} must be a date such as 1985-03-05 or 05-03-1985",
                           field=field)
    year, month, day = (parts if len(parts[0]) == 4 else reversed(parts))
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise InvalidInput(f"{field} is not a real calendar date", field=field) from None


def parse_sex(values: dict[str, str], field: str = "sex") -> Sex:
    sex = _SEX.get(required(values, field).upper())
    if sex is None:
        raise InvalidInput(f"{field} must be L or P (M or F are read as L or P)", field=field)
    return sex


class RejectionLog:
    """The rejection report (CSV of row, field, reason), written as rows are refused so a
    million refusals never sit in memory; the first ``keep`` are also kept for the reply.
    The file is created at the first refusal: a clean import leaves no empty report."""

    def __init__(self, path: Path | None, keep: int = 1000) -> None:
        self.path = path
        self.count = 0
        self.kept: list[Rejection] = []
        self._keep = keep
        self._file = None
        self._writer = None

    def add(self, rejection: Rejection) -> None:
        self.count += 1
        if len(self.kept) < self._keep:
            self.kept.append(rejection)
        if self.path is None:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._file, lineterminator="\n")
            self._writer.writerow(("row", "field", "reason"))
        self._writer.writerow((rejection.row, rejection.field, rejection.reason))

    @property
    def written_path(self) -> str | None:
        return str(self.path) if self._file is not None else None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> "RejectionLog":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
