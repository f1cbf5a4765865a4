"""Memory stays flat however long the village list: a million rows is too slow for CI,
so ten times the rows must not take anywhere near ten times the memory."""

import tracemalloc

import msgspec

from ledger.demo_data import generate_candidates
from ledger.importer import import_candidates
from ledger.program import OpenProgram
from ledger.registry_files import load_registry
from ledger.service import Actor
from ledger.settings import Settings
from ledger.system import open_system
from tests.unit.scenario import KOTAMOBAGU_OPENED

CLERK = Actor("clerk-1", "enrollment_clerk")


def peak_bytes_importing(tmp_path, rows: int) -> int:
    folder = tmp_path / str(rows)
    folder.mkdir()
    generate_candidates(folder / "c.csv", folder / "r.csv", count=rows, seed=11)
    settings = Settings(database_url=f"sqlite:///{folder / 'ledger.sqlite'}", data_dir=folder)
    opened = msgspec.structs.replace(KOTAMOBAGU_OPENED, quota_total=rows, cohort_quotas={})
    with open_system(settings) as system:
        system.ledger.open_program(
            msgspec.convert(msgspec.to_builtins(opened), type=OpenProgram), CLERK)
        registry = load_registry(folder / "r.csv")  # held whole by design: the registry
        tracemalloc.start()
        try:
            report = import_candidates(system, "kotamobagu-2024", folder / "c.csv", CLERK,
                                       registry=registry,
                                       rejections_path=folder / "rejections.csv")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert report.rows == rows and report.rejected > 0
    return peak


def test_ten_times_the_rows_does_not_take_ten_times_the_memory(tmp_path):
    small = peak_bytes_importing(tmp_path, 3_000)
    large = peak_bytes_importing(tmp_path, 30_000)

    assert large < 2 * small, f"peak {small:,} bytes for 3,000 rows, {large:,} for 30,000"
