"""Bulk imports on a real store (SQLite and PostgreSQL): village lists, registry extracts,
KPJ assignment files, and everything wrong with them."""

import csv
import gc
import threading
from datetime import date
from pathlib import Path

import msgspec
import pytest

from ledger import importer
from ledger.demo_data import build_nik, generate_candidates
from ledger.errors import (
    ConcurrencyConflict,
    ImportRejected,
    OutsideCoverageWindow,
    ProgramNotFound,
)
from ledger.importer import (
    CANDIDATE_COLUMNS,
    Rejection,
    import_candidates,
    import_kpj,
    import_registry,
)
from ledger.participant import CandidateData
from ledger.program import OpenProgram
from ledger.registry import InMemoryRegistry
from ledger.registry_files import REGISTRY_COLUMNS
from ledger.service import Actor
from ledger.settings import Settings
from ledger.system import open_system
from ledger.verification import RegistryRecord
from projections import views
from tests.unit.scenario import KOTAMOBAGU_OPENED, siti

CLERK = Actor("clerk-1", "enrollment_clerk")
PROGRAM = "kotamobagu-2024"
OPEN_KOTAMOBAGU = msgspec.convert(msgspec.to_builtins(KOTAMOBAGU_OPENED), type=OpenProgram)


@pytest.fixture
def system(db_url, tmp_path):
    with open_system(Settings(database_url=db_url, data_dir=tmp_path)) as system:
        system.ledger.open_program(OPEN_KOTAMOBAGU, CLERK)
        yield system


def person(serial: int, **changes) -> CandidateData:
    """Siti's namesakes: women of Kotamobagu Barat born 5 Mar 1985, one NIK serial each."""
    return siti(nik=build_nik("717401", date(1985, 3, 5), "P", serial), **changes)


def as_row(data: CandidateData, **raw: str) -> dict[str, str]:
    return {**{f: str(v) for f, v in msgspec.structs.asdict(data).items()}, **raw}


def write_csv(path: Path, columns, rows) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def candidates_file(tmp_path: Path, *rows: dict[str, str]) -> Path:
    return write_csv(tmp_path / "village.csv", CANDIDATE_COLUMNS, rows)


def registry_file(tmp_path: Path, *people: CandidateData, name="extract.csv") -> Path:
    return write_csv(tmp_path / name, REGISTRY_COLUMNS, [as_row(p) for p in people])


def test_a_clean_village_list_is_submitted(system, tmp_path):
    path = candidates_file(tmp_path, as_row(person(1)), as_row(person(2)))

    report = import_candidates(system, PROGRAM, path, CLERK)

    assert (report.rows, report.accepted, report.rejected, report.events_appended) == (2, 2, 0, 2)
    assert report.rejections_path is None
    totals = views.program_summary(system.storage.db, PROGRAM)["totals"]
    assert totals["awaiting_verification"] == 2  # projections were caught up


def test_importing_the_same_file_again_appends_nothing(system, tmp_path):
    # Generated lists carry duplicates of both kinds and every error of ERROR_RATES.
    generate_candidates(tmp_path / "c.csv", tmp_path / "r.csv", count=1500, seed=7,
                        cohorts=(("informal", 1.0),))
    first = import_candidates(system, PROGRAM, tmp_path / "c.csv", CLERK)
    head = system.store.head()

    again = import_candidates(system, PROGRAM, tmp_path / "c.csv", CLERK)

    assert system.store.head() == head
    assert (again.accepted, again.events_appended) == (0, 0)
    assert again.unchanged == first.accepted + first.unchanged
    assert again.rejected == first.rejected


def test_a_file_with_a_wrong_header_is_refused_and_nothing_is_written(system, tmp_path):
    path = write_csv(tmp_path / "v.csv", ["nik", "name", "dob"],
                     [{"nik": person(1).nik, "name": "Siti", "dob": "1985-03-05"}])
    head = system.store.head()

    with pytest.raises(ImportRejected) as refused:
        import_candidates(system, PROGRAM, path, CLERK)

    assert "full_name, birth_date, sex, mother_name" in refused.value.detail
    assert system.store.head() == head


def test_an_unknown_program_is_refused_before_the_file_is_read(system, tmp_path):
    with pytest.raises(ProgramNotFound):
        import_candidates(system, "makassar-2024", tmp_path / "not-there.csv", CLERK)


def test_bad_rows_are_refused_with_field_and_reason_and_the_rest_imported(system, tmp_path):
    path = candidates_file(
        tmp_path, as_row(person(1)), as_row(person(2), nik="7174-0145-0385"),
        as_row(person(3), birth_date="1985-02-30"), as_row(person(4), sex="X"),
        as_row(person(5), sex="f"), as_row(person(6), full_name=" "),
        as_row(person(7), cohort="fisher"))
    report_path = tmp_path / "out" / "rejections.csv"

    report = import_candidates(system, PROGRAM, path, CLERK, rejections_path=report_path)

    assert (report.accepted, report.rejected) == (2, 5)
    assert [(r.row, r.field) for r in report.rejections] == [
        (3, "nik"), (4, "birth_date"), (5, "sex"), (7, "full_name"), (8, "cohort")]
    written = report_path.read_text()
    assert written.splitlines()[0] == "row,field,reason"
    assert "1985-02-30" not in written and "Siti" not in written and "7174" not in written


def test_an_overlong_line_midway_is_refused_as_its_row_and_the_rest_imported(system,
                                                                            tmp_path):
    path = candidates_file(tmp_path, as_row(person(1)), as_row(person(2), address="x"),
                           as_row(person(3)))
    content = path.read_text().replace(",x,", "," + "x" * (1024 * 1024) + ",")
    path.write_text(content)

    report = import_candidates(system, PROGRAM, path, CLERK)

    assert (report.accepted, report.rejected) == (2, 1)
    assert report.rejections[0] == Rejection(
        3, "_line", "the row is longer than the limit of 65536 bytes")


def test_a_file_of_nothing_but_bad_rows_is_refused_row_by_row(system, tmp_path):
    path = candidates_file(tmp_path, *(as_row(person(n), sex="X") for n in range(1, 2500)))
    head = system.store.head()

    report = import_candidates(system, PROGRAM, path, CLERK, rejections_path=tmp_path / "r.csv")

    assert (report.rows, report.rejected, len(report.rejections)) == (2499, 2499, 1000)
    assert system.store.head() == head
    assert len((tmp_path / "r.csv").read_text().splitlines()) == 2500


def test_the_same_nik_twice_in_one_file_lands_on_one_participant(system, tmp_path):
    path = candidates_file(tmp_path, as_row(person(1)), as_row(person(1), village="Biga"))

    report = import_candidates(system, PROGRAM, path, CLERK)

    assert report.accepted == 2
    (row,) = views.participants(system.storage.db, PROGRAM)
    assert (row["village"], row["submissions"]) == ("Biga", 2)


def test_a_row_that_breaks_the_file_stops_the_import_keeping_the_rows_before(system, tmp_path):
    generate_candidates(tmp_path / "c.csv", tmp_path / "r.csv", count=1200, seed=3)
    with open(tmp_path / "c.csv", "a", encoding="utf-8") as out:
        out.write('7174010101800001,"an open quote\n' + "more,rows\n" * 8000)

    with pytest.raises(ImportRejected) as refused:
        import_candidates(system, PROGRAM, tmp_path / "c.csv", CLERK)

    assert refused.value.detail.startswith("row 1202: a quoted field runs on")
    assert "The 1200 rows before it were processed and stay imported" in refused.value.detail
    totals = views.program_summary(system.storage.db, PROGRAM)["totals"]
    assert totals["submitted"] > 1000  # both batches before the broken row, caught up


def test_a_list_imported_with_the_registry_is_verified_batch_by_batch(system, tmp_path):
    known, typo = person(1), person(2)
    registry = InMemoryRegistry("dukcapil:test.csv", [
        RegistryRecord(nik=p.nik, full_name=p.full_name, birth_date=p.birth_date, sex=p.sex,
                       mother_name=p.mother_name) for p in (known, typo)])
    path = candidates_file(tmp_path, as_row(known), as_row(typo, full_name="Sri Wahyuni"))

    report = import_candidates(system, PROGRAM, path, CLERK, registry=registry)

    assert (report.accepted, report.matched, report.mismatched) == (2, 1, 1)
    assert report.events_appended == 4  # submitted and verified, per row


def test_a_registry_extract_verifies_waiting_candidates_and_the_backlog_says_why(system,
                                                                                  tmp_path):
    import_candidates(system, PROGRAM, candidates_file(
        tmp_path, as_row(person(1)), as_row(person(2)), as_row(person(3))), CLERK)
    extract = registry_file(tmp_path, person(1), person(2, mother_name="Hadija Gobel"))
    with open(extract, "a", encoding="utf-8") as out:
        out.write("12345,Budi,1980-01-01,L,Ani\n")

    report = import_registry(system, PROGRAM, extract, CLERK)

    assert (report.rows, report.accepted, report.rejected) == (3, 2, 1)
    assert report.rejections[0].row == 4 and report.rejections[0].field == "nik"
    assert (report.matched, report.mismatched, report.events_appended) == (1, 2, 3)
    reasons = {r["reason"]: r["participants"]
               for r in views.backlog(system.storage.db, PROGRAM)["by_reason"]}
    assert reasons == {"mother_name_differs": 1, "nik_not_found": 1}
    head = system.store.head()
    again = import_registry(system, PROGRAM, extract, CLERK)
    assert system.store.head() == head and again.unchanged == 2


def test_a_kpj_file_enrolls_the_matched_up_to_the_quota(system, tmp_path):
    system.ledger.open_program(msgspec.structs.replace(
        OPEN_KOTAMOBAGU, program_id="small", quota_total=2, cohort_quotas={}), CLERK)
    people = [person(n, cohort="informal") for n in (1, 2, 3, 4)]
    import_candidates(system, "small", candidates_file(tmp_path, *map(as_row, people)), CLERK)
    import_registry(system, "small", registry_file(tmp_path, *people[:3]), CLERK)
    kpjs = [{"nik": p.nik, "kpj": f"1234567890{n}"} for n, p in enumerate(people)]
    path = write_csv(tmp_path / "kpj.csv", ["nik", "kpj"],
                     [*kpjs, {"nik": person(9).nik, "kpj": "12345678909"}])

    report = import_kpj(system, "small", path, CLERK, coverage_start=date(2024, 3, 1),
                        batch="tahap-1")

    assert (report.enrolled, report.rejected) == (2, 3)
    assert [(r.row, r.field) for r in report.rejections] == [(4, "quota"), (5, "nik"),
                                                             (6, "nik")]
    assert "all 2 seats" in report.rejections[0].reason
    assert "only a matched (padan) candidate" in report.rejections[1].reason
    head = system.store.head()
    again = import_kpj(system, "small", path, CLERK, coverage_start=date(2024, 3, 1),
                       batch="tahap-1")
    assert (again.unchanged, again.rejected, system.store.head()) == (2, 3, head)


def test_a_kpj_file_outside_the_coverage_window_is_refused_whole(system, tmp_path):
    path = write_csv(tmp_path / "kpj.csv", ["nik", "kpj"], [])

    with pytest.raises(OutsideCoverageWindow):
        import_kpj(system, PROGRAM, path, CLERK, coverage_start=date(2025, 1, 1), batch="t1")


class ReaderBroke(Exception):
    """A failure while reading the file, past the rows CsvRows itself refuses."""


def readers_running() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "import-read-ahead"]


def test_a_failure_while_reading_ahead_reaches_the_caller_after_the_batches_before_it(
        system, tmp_path, monkeypatch):
    generate_candidates(tmp_path / "c.csv", tmp_path / "r.csv", count=5000, seed=3)
    parse, parsed = importer._candidate, []

    def breaking_on_the_4500th_row(values):
        if len(parsed) == 4500:
            raise ReaderBroke("the disk went away")
        parsed.append(values["nik"])
        return parse(values)

    monkeypatch.setattr(importer, "_candidate", breaking_on_the_4500th_row)
    thresholds = gc.get_threshold()

    with pytest.raises(ReaderBroke):
        import_candidates(system, PROGRAM, tmp_path / "c.csv", CLERK)

    system.projections.catch_up()
    totals = views.program_summary(system.storage.db, PROGRAM)["totals"]
    assert 3000 < totals["submitted"] < 4000  # the two whole batches before it stay
    assert readers_running() == []
    assert gc.get_threshold() == thresholds


def test_a_batch_refused_midway_stops_the_reader_and_restores_the_collector(
        system, tmp_path, monkeypatch):
    generate_candidates(tmp_path / "c.csv", tmp_path / "r.csv", count=5000, seed=3)
    submit_batch = system.ledger.submit_batch
    batches, thresholds_during = [], []

    def refusing_the_second_batch(*args, **kwargs):
        batches.append(args[1])
        thresholds_during.append(gc.get_threshold())
        if len(batches) == 2:
            raise ConcurrencyConflict("another writer won five times over")
        return submit_batch(*args, **kwargs)

    monkeypatch.setattr(system.ledger, "submit_batch", refusing_the_second_batch)
    thresholds = gc.get_threshold()

    with pytest.raises(ConcurrencyConflict):
        import_candidates(system, PROGRAM, tmp_path / "c.csv", CLERK)

    assert len(batches) == 2
    assert readers_running() == []
    assert thresholds_during[0][0] > thresholds[0]  # fewer collections while it ran
    assert gc.get_threshold() == thresholds
