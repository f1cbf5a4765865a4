"""Deterministic synthetic input files for the demo and the benchmarks.

Writes what a region hands the ledger before enrollment: the candidate lists villages submit,
the civil-registry (Disdukcapil) extract they are matched against (pemadanan), and the KPJ
numbers BPJS Ketenagakerjaan returns. Every file is a UTF-8 CSV with a header row, written
row by row so a million rows keep memory flat. The same seed gives byte-identical files;
all randomness of a file comes from one ``random.Random(seed)``.

Each candidate is a registry person, and about 27% of rows carry exactly one of the errors
that block matching in real programs (see ``ERROR_RATES``), so about 73% are clean.

The registry extract is sorted by NIK, as real extracts are, and therefore not in candidate
order. Sorting uses an external merge: runs of at most ``_RUN_ROWS`` rows are sorted in memory,
spilled to temporary files and merged, so memory stays bounded whatever ``count`` is.

Villages, names and occupations come from ``ledger.demo_reference``.
"""

from __future__ import annotations

import csv
import heapq
import math
import random
import tempfile
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from operator import itemgetter
from pathlib import Path
from typing import TextIO, TypeVar

from stdnum.id import nik as stdnum_nik

from ledger.demo_reference import (
    FALLBACK_DISTRICTS,
    FALLBACK_VILLAGES,
    FAMILY,
    FEMALE_GIVEN,
    FOREIGN_DISTRICT_CODES,
    KOTAMOBAGU_VILLAGES,
    MALE_FIRST,
    MALE_GIVEN,
    OCCUPATION_CUM,
    OCCUPATION_NAMES,
    STREETS,
    Village,
)

_T = TypeVar("_T")

REGISTRY_COLUMNS = ("nik", "full_name", "birth_date", "sex", "mother_name")
CANDIDATE_COLUMNS = (
    *REGISTRY_COLUMNS, "address", "village", "occupation", "cohort", "submitted_by",
)
KPJ_COLUMNS = ("nik", "kpj")

KOTAMOBAGU = "7174"
# Ages are drawn at this date; a small over-65 share makes a default age cap of 65 bite.
AGE_REFERENCE_DATE = date(2024, 1, 1)
MIN_AGE, AGE_CAP, MAX_AGE = 18, 65, 70
OVER_AGE_CAP_SHARE = 0.03

# Share of candidate rows per error kind; every row has at most one error. The person behind
# a row is in the registry extract unless noted, always under their true, valid NIK.
ERROR_RATES: tuple[tuple[str, float], ...] = (
    ("name_typo", 0.06),  # letter dropped/doubled/swapped, "Moh.", family name left out
    ("dob_swapped", 0.03),  # day and month exchanged, only where both are <= 12
    ("wrong_sex", 0.02),  # declared sex disagrees with the registry and the NIK
    ("mother_name_differs", 0.04),
    ("nik_not_in_registry", 0.04),  # a valid NIK Disdukcapil does not know
    ("foreign_region_nik", 0.03),  # a valid KTP issued in another regency or city
    ("duplicate_identical", 0.015),  # an earlier clean row resubmitted unchanged
    ("duplicate_other_name", 0.015),  # an earlier clean row's NIK under another name
    ("invalid_nik", 0.015),  # wrong length, a letter, or day 32: must be rejected
    ("impossible_birth_date", 0.005),  # e.g. 1985-02-30 in the birth_date column
)
_KINDS = tuple(kind for kind, _ in ERROR_RATES)
_CUMULATIVE_RATES = tuple(accumulate(rate for _, rate in ERROR_RATES))


_IMPOSSIBLE_MONTH_DAYS = ((2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31))
_DIGIT_LOOKALIKES = dict(zip("0123456789", "OIZEASGTBQ", strict=True))
_DUPLICATE_POOL = 1_000  # clean rows remembered for resubmission (reservoir sample)
_RUN_ROWS = 50_000  # registry rows sorted in memory at once
_KPJ_FIRST, _KPJ_SPACE = 10**10, 9 * 10**10  # 11 digits, no leading zero


@dataclass(frozen=True)
class GenerationSummary:
    """Row counts of one generation run; the error kinds are those of ``ERROR_RATES``."""

    candidate_rows: int
    registry_rows: int
    clean: int
    name_typo: int
    dob_swapped: int
    wrong_sex: int
    mother_name_differs: int
    nik_not_in_registry: int
    foreign_region_nik: int
    duplicate_identical: int
    duplicate_other_name: int
    invalid_nik: int
    impossible_birth_date: int

    def by_kind(self) -> dict[str, int]:
        return {kind: getattr(self, kind) for kind in ("clean", *_KINDS)}


def build_nik(district_code: str, birth_date: date, sex: str, serial: int) -> str:
    """NIK ``PPKKCC DDMMYY SSSS``: 40 is added to the day of birth for women."""
    if len(district_code) != 6 or not district_code.isdigit():
        raise ValueError("district code must be 6 digits")
    if sex not in ("L", "P") or not 1 <= serial <= 9999:
        raise ValueError("sex must be L or P and serial 1..9999")
    return _nik(district_code, birth_date, sex, serial)


def _nik(district_code: str, birth: date, sex: str, serial: int) -> str:
    day = birth.day + 40 if sex == "P" else birth.day
    return f"{district_code}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


def villages_for(region_code: str) -> tuple[Village, ...]:
    """Kotamobagu's real villages, or synthetic ones for any other known region."""
    if region_code == KOTAMOBAGU:
        return KOTAMOBAGU_VILLAGES
    known = len(region_code) == 4 and region_code.isdigit()
    if not known or not stdnum_nik.is_valid(f"{region_code}01010180" + "0001"):
        raise ValueError(f"unknown region code {region_code!r}")
    names = (f"Kelurahan {n}" for n in range(1, FALLBACK_DISTRICTS * FALLBACK_VILLAGES + 1))
    return tuple(
        Village(name, name, f"{region_code}{i // FALLBACK_VILLAGES + 1:02d}")
        for i, name in enumerate(names)
    )


def _birth_window(youngest: int, oldest: int) -> tuple[int, int]:
    """Ordinals of the first and last birth dates giving these ages at the reference date."""
    ref = AGE_REFERENCE_DATE
    first = ref.replace(year=ref.year - oldest - 1) + timedelta(days=1)
    return first.toordinal(), ref.replace(year=ref.year - youngest).toordinal()


_UNDER_CAP = _birth_window(MIN_AGE, AGE_CAP)
_OVER_CAP = _birth_window(AGE_CAP + 1, MAX_AGE)


class _Dice:
    """Every draw goes through one seeded ``random()``: several times faster than ``choice``
    and ``randint``, and generation speed is what a million-row benchmark waits for."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed).random

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def pick(self, items: Sequence[_T]) -> _T:
        return items[int(self.random() * len(items))]

    def weighted(self, items: Sequence[_T], cumulative_weights: Sequence[float]) -> _T:
        return items[bisect_right(cumulative_weights, self.random() * cumulative_weights[-1])]


class _SerialBook:
    """Next NIK serial per district and birth date, in one flat array so memory stays fixed."""

    def __init__(self, district_codes: Iterable[str]) -> None:
        self._index = {code: i for i, code in enumerate(sorted(set(district_codes)))}
        self._days = _UNDER_CAP[1] - _OVER_CAP[0] + 1
        self._issued = array("H", bytes(2 * len(self._index) * self._days))

    def next(self, district_code: str, birth: date) -> int:
        slot = self._index[district_code] * self._days + birth.toordinal() - _OVER_CAP[0]
        serial = self._issued[slot] + 1
        if serial > 9999:  # the NIK has four serial digits
            raise ValueError(f"district {district_code} ran out of NIK serials for {birth}")
        self._issued[slot] = serial
        return serial


def _full_name(sex: str, dice: _Dice) -> str:
    first, given = (MALE_FIRST, MALE_GIVEN) if sex == "L" else (FEMALE_GIVEN, FEMALE_GIVEN)
    if dice.random() < 0.4:
        return f"{dice.pick(first)} {dice.pick(given)} {dice.pick(FAMILY)}"
    return f"{dice.pick(first)} {dice.pick(FAMILY)}"


def _mother_name(dice: _Dice) -> str:
    return f"{dice.pick(FEMALE_GIVEN)} {dice.pick(FAMILY)}"


def _address(dice: _Dice) -> str:
    street, number = dice.pick(STREETS), dice.below(150) + 1
    return f"Jl. {street} No. {number}, RT {dice.below(12) + 1:03d}/RW {dice.below(6) + 1:03d}"


def _birth_date(dice: _Dice, *, swappable: bool) -> date:
    """A birth date; ``swappable`` ones have day and month both <= 12 and different."""
    while True:
        first, last = _OVER_CAP if dice.random() < OVER_AGE_CAP_SHARE else _UNDER_CAP
        birth = date.fromordinal(first + dice.below(last - first + 1))
        if not swappable or (birth.day <= 12 and birth.day != birth.month):
            return birth


class _PersonFactory:
    """Registry people as candidate rows (without cohort), each with a fresh, valid NIK."""

    def __init__(self, dice: _Dice, region_code: str) -> None:
        self._dice = dice
        self._villages = villages_for(region_code)
        self._foreign = tuple(c for c in FOREIGN_DISTRICT_CODES if not c.startswith(region_code))
        self._serials = _SerialBook([v.district_code for v in self._villages] + [*self._foreign])

    def person(self, *, foreign: bool, swappable: bool) -> dict[str, str]:
        dice = self._dice
        sex = "L" if dice.random() < 0.5 else "P"
        birth = _birth_date(dice, swappable=swappable)
        village = dice.pick(self._villages)
        # A NIK keeps the district that issued it, so a migrant's prefix is foreign.
        district = dice.pick(self._foreign) if foreign else village.district_code
        return {
            "nik": _nik(district, birth, sex, self._serials.next(district, birth)),
            "full_name": _full_name(sex, dice),
            "birth_date": birth.isoformat(),
            "sex": sex,
            "mother_name": _mother_name(dice),
            "address": _address(dice),
            "village": village.name,
            "occupation": dice.weighted(OCCUPATION_NAMES, OCCUPATION_CUM[sex]),
            "submitted_by": village.office,
        }


def _typo(name: str, dice: _Dice) -> str:
    """One slip of a village clerk: a letter dropped, doubled or swapped, or a name shortened."""
    words = name.split()
    if "Muhammad" in words and dice.random() < 0.5:
        return name.replace("Muhammad", "Moh.", 1)
    how = dice.below(4)
    if how == 0:
        return " ".join(words[:-1])  # family name left out
    i = dice.below(len(words))
    word = words[i]
    at = 1 + dice.below(len(word) - 2)  # inside the word, where slips go unnoticed
    if how == 1:
        words[i] = word[:at] + word[at + 1 :]
    elif how == 2:
        words[i] = word[:at] + word[at] + word[at:]
    else:
        at = dice.pick([j for j in range(1, len(word) - 1) if word[j] != word[j + 1]])
        words[i] = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return " ".join(words)


def _invalid_nik(nik: str, dice: _Dice) -> str:
    """A NIK no importer may accept: wrong length, a letter, or day 32 (72 for women)."""
    how, at = dice.below(4), dice.below(16)
    if how == 0:
        return nik[:at] + nik[at + 1 :]
    if how == 1:
        return nik[:at] + str(dice.below(10)) + nik[at:]
    if how == 2:
        return nik[:at] + _DIGIT_LOOKALIKES[nik[at]] + nik[at + 1 :]
    return nik[:6] + ("72" if nik[6] >= "4" else "32") + nik[8:]


def _other(value: str, draw: Callable[[], str]) -> str:
    while (new := draw()) == value:
        pass
    return new


def _mutate(kind: str, row: dict[str, str], dice: _Dice) -> None:
    """Inject the error ``kind`` into a candidate row (kinds shaping the person are elsewhere)."""
    if kind == "name_typo":
        row["full_name"] = _typo(row["full_name"], dice)
    elif kind == "dob_swapped":
        year, month, day = row["birth_date"].split("-")
        row["birth_date"] = f"{year}-{day}-{month}"
    elif kind == "wrong_sex":
        row["sex"] = "P" if row["sex"] == "L" else "L"
    elif kind == "mother_name_differs":
        row["mother_name"] = _other(row["mother_name"], lambda: _mother_name(dice))
    elif kind == "invalid_nik":
        row["nik"] = _invalid_nik(row["nik"], dice)
    elif kind == "impossible_birth_date":
        month, day = dice.pick(_IMPOSSIBLE_MONTH_DAYS)
        row["birth_date"] = f"{row['birth_date'][:4]}-{month:02d}-{day:02d}"
    elif kind == "duplicate_other_name":
        row["full_name"] = _other(row["full_name"], lambda: _full_name(row["sex"], dice))


class _RowMaker:
    """Makes one candidate row (and its registry row) at a time; remembers a bounded pool."""

    def __init__(
        self, dice: _Dice, region_code: str, cohorts: Sequence[tuple[str, float]]
    ) -> None:
        if not cohorts or any(weight <= 0 for _, weight in cohorts):
            raise ValueError("cohorts need at least one positive weight")
        self._dice = dice
        self._factory = _PersonFactory(dice, region_code)
        self._cohorts = tuple(name for name, _ in cohorts)
        self._cohort_cum = tuple(accumulate(weight for _, weight in cohorts))
        self._pool: list[dict[str, str]] = []
        self._clean_seen = 0

    def row(self, kind: str) -> tuple[str, dict[str, str], tuple[str, ...] | None]:
        if kind.startswith("duplicate"):
            if self._pool:
                row = dict(self._dice.pick(self._pool))
                _mutate(kind, row, self._dice)
                return kind, row, None  # the registry already holds this NIK
            kind = "clean"  # nothing submitted yet that could be resubmitted
        row = self._factory.person(
            foreign=kind == "foreign_region_nik", swappable=kind == "dob_swapped"
        )
        row["cohort"] = self._dice.weighted(self._cohorts, self._cohort_cum)
        registry = _registry_fields(row)
        _mutate(kind, row, self._dice)
        if kind == "clean":
            self._remember(row)
        return kind, row, None if kind == "nik_not_in_registry" else registry

    def _remember(self, row: dict[str, str]) -> None:
        # Reservoir sampling: every clean row so far is equally likely to be resubmitted.
        self._clean_seen += 1
        if len(self._pool) < _DUPLICATE_POOL:
            self._pool.append(row)
        elif (slot := self._dice.below(self._clean_seen)) < _DUPLICATE_POOL:
            self._pool[slot] = row


_registry_fields = itemgetter(*REGISTRY_COLUMNS)
_candidate_fields = itemgetter(*CANDIDATE_COLUMNS)


class _EncodedLines(list[str]):
    """Collects csv.writer output: the writer emits each row as one write() of its line."""

    write = list.append


class _NikSortedCsv:
    """CSV writer that outputs its rows sorted by NIK using bounded memory (external merge)."""

    def __init__(self, path: str | Path, header: Sequence[str]) -> None:
        self._path, self._header = path, header
        self._run = _EncodedLines()
        self._encoder = csv.writer(self._run, lineterminator="\n")
        self._spilled: list[TextIO] = []
        self.rows = 0

    def writerow(self, row: Sequence[str]) -> None:
        # Rows stay encoded lines: the fixed-width NIK leads, so lines sort by NIK.
        self._encoder.writerow(row)
        self.rows += 1
        if len(self._run) >= _RUN_ROWS:
            self._spill()

    def _spill(self) -> None:
        run = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")
        self._run.sort()
        run.writelines(self._run)
        run.seek(0)
        self._spilled.append(run)
        self._run.clear()

    def __enter__(self) -> _NikSortedCsv:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        try:
            if exc_type is None:
                self._run.sort()
                with open(self._path, "w", encoding="utf-8", newline="") as out:
                    csv.writer(out, lineterminator="\n").writerow(self._header)
                    out.writelines(heapq.merge(self._run, *self._spilled))
        finally:
            for run in self._spilled:
                run.close()


def _pick_kind(dice: _Dice) -> str:
    at = bisect_right(_CUMULATIVE_RATES, dice.random())
    return _KINDS[at] if at < len(_KINDS) else "clean"


def generate_candidates(
    path_candidates: str | Path,
    path_registry: str | Path,
    *,
    count: int,
    seed: int,
    region_code: str = KOTAMOBAGU,
    cohorts: Sequence[tuple[str, float]] = (("informal", 1.0),),
) -> GenerationSummary:
    """Write ``count`` candidate rows and the registry extract they are matched against.

    ``cohorts`` are (name, weight) pairs, e.g. Gorontalo's 7,000 informal workers and 3,452
    extreme-poor MSME workers. Registry rows are sorted by NIK (see the module docstring).
    """
    if count < 0:
        raise ValueError("count must not be negative")
    dice = _Dice(seed)
    maker = _RowMaker(dice, region_code, cohorts)
    counts: Counter[str] = Counter()
    with (
        open(path_candidates, "w", encoding="utf-8", newline="") as out,
        _NikSortedCsv(path_registry, REGISTRY_COLUMNS) as registry,
    ):
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CANDIDATE_COLUMNS)
        for _ in range(count):
            kind, row, registry_row = maker.row(_pick_kind(dice))
            writer.writerow(_candidate_fields(row))
            if registry_row is not None:
                registry.writerow(registry_row)
            counts[kind] += 1
    return GenerationSummary(
        candidate_rows=count,
        registry_rows=registry.rows,
        **{kind: counts[kind] for kind in ("clean", *_KINDS)},
    )


def write_kpj_assignments(path: str | Path, niks: Iterable[str], *, seed: int) -> int:
    """Write one KPJ membership number per NIK, as BPJS TK returns them; returns the row count.

    KPJs are an affine permutation of the 11-digit range, so they are unique without
    remembering any: pass each NIK once.
    """
    rng = random.Random(seed)
    step = 0  # a step coprime to the range makes the affine map a permutation
    while math.gcd(step, _KPJ_SPACE) != 1:
        step = rng.randrange(1, _KPJ_SPACE)
    start, rows = rng.randrange(_KPJ_SPACE), 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(KPJ_COLUMNS)
        for rows, nik in enumerate(niks, start=1):
            writer.writerow((nik, str(_KPJ_FIRST + (start + step * rows) % _KPJ_SPACE)))
    return rows
