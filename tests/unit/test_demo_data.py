"""Synthetic village candidate lists, Disdukcapil extracts and KPJ files for demos and benchmarks.

The expectations are checked against the files themselves: every row is classified from what a
verifier (pemadanan) would see, independently of the generator's own bookkeeping.
"""

from __future__ import annotations

import csv
import math
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from stdnum.id import nik as stdnum_nik

from ledger.demo_data import (
    ERROR_RATES,
    KOTAMOBAGU_VILLAGES,
    GenerationSummary,
    build_nik,
    generate_candidates,
    write_kpj_assignments,
)

CANDIDATE_HEADER = [
    "nik", "full_name", "birth_date", "sex", "mother_name",
    "address", "village", "occupation", "cohort", "submitted_by",
]
REGISTRY_HEADER = ["nik", "full_name", "birth_date", "sex", "mother_name"]
KOTAMOBAGU_QUOTA = 9_000


@dataclass(frozen=True)
class Generated:
    summary: GenerationSummary
    candidates: list[dict[str, str]]
    registry_lines: list[str]
    registry: dict[str, dict[str, str]]
    kinds: list[str]  # what verification finds for each candidate row, in file order


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _header(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        return next(csv.reader(f))


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _finding(row: dict[str, str], registry: dict, earlier: dict, region: str) -> str:
    """What matching this row against the registry and the earlier rows reveals."""
    nik = row["nik"]
    if not stdnum_nik.is_valid(nik):
        return "invalid_nik"
    if nik in earlier:
        return "duplicate_identical" if row == earlier[nik] else "duplicate_other_name"
    earlier[nik] = row
    truth = registry.get(nik)
    if truth is None:
        return "nik_not_in_registry"
    if not nik.startswith(region):
        return "foreign_region_nik"
    differing = [column for column in REGISTRY_HEADER if row[column] != truth[column]]
    if not differing:
        return "clean"
    (column,) = differing  # one error per row
    if column == "birth_date":
        return "dob_swapped" if _is_date(row["birth_date"]) else "impossible_birth_date"
    return {"full_name": "name_typo", "sex": "wrong_sex", "mother_name": "mother_name_differs"}[
        column
    ]


def _generate(directory: Path, count: int, seed: int, region: str = "7174") -> Generated:
    candidates_path, registry_path = directory / "candidates.csv", directory / "registry.csv"
    summary = generate_candidates(
        candidates_path, registry_path, count=count, seed=seed, region_code=region
    )
    candidates = _read(candidates_path)
    registry_rows = _read(registry_path)
    registry = {row["nik"]: row for row in registry_rows}
    earlier: dict[str, dict[str, str]] = {}
    kinds = [_finding(row, registry, earlier, region) for row in candidates]
    lines = registry_path.read_text(encoding="utf-8").splitlines()[1:]
    return Generated(summary, candidates, lines, registry, kinds)


@pytest.fixture(scope="module")
def kotamobagu(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """Kotamobagu's villages submit candidates for the 2024 quota of 9,000."""
    return _generate(tmp_path_factory.mktemp("kotamobagu"), KOTAMOBAGU_QUOTA, seed=2024)


def _counted_in_files(generated: Generated) -> dict[str, int]:
    found = Counter(generated.kinds)
    return {kind: found[kind] for kind in generated.summary.by_kind()}


def _rows_of(generated: Generated, kind: str) -> list[dict[str, str]]:
    return [row for row, found in zip(generated.candidates, generated.kinds, strict=True)
            if found == kind]


def test_the_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    # Given two runs with the same seed, when both are generated
    first, second = tmp_path / "first", tmp_path / "second"
    for directory in (first, second):
        directory.mkdir()
        generate_candidates(directory / "c.csv", directory / "r.csv", count=2_000, seed=7)
        niks = [f"7174010101800{serial:03d}" for serial in range(1, 51)]
        write_kpj_assignments(directory / "k.csv", niks, seed=7)
    # Then every file is byte for byte the same
    for name in ("c.csv", "r.csv", "k.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_a_different_seed_gives_different_files(tmp_path: Path) -> None:
    generate_candidates(tmp_path / "c1.csv", tmp_path / "r1.csv", count=500, seed=1)
    generate_candidates(tmp_path / "c2.csv", tmp_path / "r2.csv", count=500, seed=2)
    assert (tmp_path / "c1.csv").read_bytes() != (tmp_path / "c2.csv").read_bytes()
    assert (tmp_path / "r1.csv").read_bytes() != (tmp_path / "r2.csv").read_bytes()


def test_files_carry_exactly_the_agreed_columns(tmp_path: Path) -> None:
    generate_candidates(tmp_path / "c.csv", tmp_path / "r.csv", count=10, seed=1)
    write_kpj_assignments(tmp_path / "k.csv", [], seed=1)
    assert _header(tmp_path / "c.csv") == CANDIDATE_HEADER
    assert _header(tmp_path / "r.csv") == REGISTRY_HEADER
    assert _header(tmp_path / "k.csv") == ["nik", "kpj"]


def test_every_registry_nik_is_valid_and_encodes_birth_date_and_sex(
    kotamobagu: Generated,
) -> None:
    for nik, person in kotamobagu.registry.items():
        assert stdnum_nik.is_valid(nik)
        born = date.fromisoformat(person["birth_date"])
        encoded = stdnum_nik.get_birth_date(nik)
        assert (encoded.day, encoded.month, encoded.year % 100) == (
            born.day, born.month, born.year % 100
        )
        assert person["sex"] == ("P" if int(nik[6:8]) > 40 else "L")
    # The extract is sorted by NIK, like Disdukcapil's, and holds each person once
    niks = [line.split(",", 1)[0] for line in kotamobagu.registry_lines]
    assert niks == sorted(niks) and len(set(niks)) == len(niks)


def test_clean_candidates_agree_with_the_registry(kotamobagu: Generated) -> None:
    villages = {v.name: v for v in KOTAMOBAGU_VILLAGES}
    clean = _rows_of(kotamobagu, "clean")
    assert clean
    for row in clean:
        truth = kotamobagu.registry[row["nik"]]
        assert {column: row[column] for column in REGISTRY_HEADER} == truth
        village = villages[row["village"]]
        # A NIK issued in the village's own district, submitted by that village's office
        assert row["nik"].startswith(village.district_code)
        assert row["submitted_by"] == village.office
        assert row["address"].startswith("Jl. ") and ", RT 0" in row["address"]
        assert row["occupation"] and row["cohort"] == "informal"


def test_each_error_kind_appears_at_about_its_rate(kotamobagu: Generated) -> None:
    found = Counter(kotamobagu.kinds)
    for kind, rate in ERROR_RATES:
        expected = rate * KOTAMOBAGU_QUOTA
        spread = 4 * math.sqrt(expected * (1 - rate)) + 1
        assert abs(found[kind] - expected) <= spread, kind
    assert 0.70 <= found["clean"] / KOTAMOBAGU_QUOTA <= 0.75


def test_the_summary_counts_what_the_files_show(kotamobagu: Generated) -> None:
    summary = kotamobagu.summary
    assert summary.by_kind() == _counted_in_files(kotamobagu)
    assert summary.candidate_rows == len(kotamobagu.candidates) == KOTAMOBAGU_QUOTA
    assert summary.registry_rows == len(kotamobagu.registry_lines)
    # Everyone in the extract is a submitted person, including those whose NIK was mistyped
    not_in_registry = {"nik_not_in_registry", "duplicate_identical", "duplicate_other_name"}
    in_registry = sum(n for kind, n in summary.by_kind().items() if kind not in not_in_registry)
    assert summary.registry_rows == in_registry


def test_each_mismatch_looks_like_what_villages_get_wrong(kotamobagu: Generated) -> None:
    registry = kotamobagu.registry
    for row in _rows_of(kotamobagu, "dob_swapped"):
        year, month, day = registry[row["nik"]]["birth_date"].split("-")
        assert row["birth_date"] == f"{year}-{day}-{month}"
    for row in _rows_of(kotamobagu, "wrong_sex"):
        assert row["sex"] == ("L" if int(row["nik"][6:8]) > 40 else "P")
    for row in _rows_of(kotamobagu, "foreign_region_nik"):
        assert row["nik"][:4] in {"7101", "7111", "7171", "7501", "7571"}
    for row in _rows_of(kotamobagu, "duplicate_other_name"):
        assert row["full_name"] != registry[row["nik"]]["full_name"]
    typos = [row["full_name"] for row in _rows_of(kotamobagu, "name_typo")]
    assert any(name.startswith("Moh. ") for name in typos)


def test_some_candidates_are_past_an_age_cap_of_65(kotamobagu: Generated) -> None:
    start = date(2024, 1, 1)
    ages = [
        start.year - born.year - ((born.month, born.day) > (start.month, start.day))
        for born in (date.fromisoformat(p["birth_date"]) for p in kotamobagu.registry.values())
    ]
    assert min(ages) >= 18 and max(ages) <= 70
    assert 0.02 <= sum(age > 65 for age in ages) / len(ages) <= 0.045


def test_kpj_numbers_are_unique_eleven_digit_numbers(kotamobagu: Generated, tmp_path: Path) -> None:
    niks = list(kotamobagu.registry)
    written = write_kpj_assignments(tmp_path / "kpj.csv", iter(niks), seed=3)
    rows = _read(tmp_path / "kpj.csv")
    assert written == len(rows) == len(niks)
    assert [row["nik"] for row in rows] == niks
    kpjs = [row["kpj"] for row in rows]
    assert all(len(kpj) == 11 and kpj.isdigit() and kpj[0] != "0" for kpj in kpjs)
    assert len(set(kpjs)) == len(kpjs)


def test_another_region_gets_synthetic_districts_and_villages(tmp_path: Path) -> None:
    # Given Makassar's benchmark (7371), when a sample is generated
    makassar = _generate(tmp_path, 3_000, seed=35, region="7371")
    clean = _rows_of(makassar, "clean")
    assert clean and all(row["nik"][:6] in {f"7371{d:02d}" for d in range(1, 9)} for row in clean)
    assert all(row["village"].startswith("Kelurahan ") for row in clean)
    assert makassar.summary.by_kind() == _counted_in_files(makassar)


def test_cohorts_split_the_list_by_weight(tmp_path: Path) -> None:
    # Given Gorontalo's two cohorts: 7,000 informal and 3,452 extreme-poor MSME workers
    cohorts = (("informal", 7_000.0), ("umkm_miskin_ekstrem", 3_452.0))
    generate_candidates(
        tmp_path / "c.csv", tmp_path / "r.csv", count=4_000, seed=1, region_code="7571",
        cohorts=cohorts,
    )
    shares = Counter(row["cohort"] for row in _read(tmp_path / "c.csv"))
    assert abs(shares["umkm_miskin_ekstrem"] / 4_000 - 3_452 / 10_452) < 0.03


def test_an_unknown_region_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="region"):
        generate_candidates(tmp_path / "c.csv", tmp_path / "r.csv", count=1, seed=1,
                            region_code="9999")


def test_a_womans_nik_adds_40_to_her_day_of_birth() -> None:
    assert build_nik("717401", date(1985, 3, 7), "P", 12) == "7174014703850012"
    assert build_nik("717401", date(1985, 3, 7), "L", 1) == "7174010703850001"
    with pytest.raises(ValueError):
        build_nik("717401", date(1985, 3, 7), "L", 10_000)


def test_two_hundred_thousand_rows_stream_to_disk_in_bounded_memory(tmp_path: Path) -> None:
    # Given a benchmark-size list, when it is generated under tracemalloc
    tracemalloc.start()
    try:
        summary = generate_candidates(
            tmp_path / "c.csv", tmp_path / "r.csv", count=200_000, seed=11
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Then the rows went to disk and memory stayed far below holding them all
    with open(tmp_path / "c.csv", encoding="utf-8") as f:
        assert sum(1 for _ in f) == 200_001
    with open(tmp_path / "r.csv", encoding="utf-8") as f:
        niks = [line[:16] for line in f][1:]  # the extract was sorted in several runs
    assert len(niks) == summary.registry_rows and niks == sorted(niks)
    assert summary.candidate_rows == 200_000
    assert peak < 20 * 1024 * 1024
