"""Import uploads over HTTP: village lists, registry extracts, KPJ assignment files."""

import csv
import io

import pytest

from tests.api.scenario import (
    PROGRAM_ID,
    as_registry_row,
    assert_problem,
    candidate,
    matched_by_hand,
    open_program,
    siti,
    submit,
)

IMPORTS = f"/programs/{PROGRAM_ID}/imports"
CANDIDATE_COLUMNS = ["nik", "full_name", "birth_date", "sex", "mother_name", "address",
                     "village", "occupation", "cohort", "submitted_by"]


def a_csv(columns: list[str], rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def village_list(*people: dict) -> tuple[str, bytes, str]:
    return "desa-gogagoman-2024-02.csv", a_csv(CANDIDATE_COLUMNS, list(people)), "text/csv"


def registry_extract(*people: dict) -> tuple[str, bytes, str]:
    rows = [as_registry_row(p) for p in people]
    return "dukcapil-7174-2024-02.csv", a_csv(list(rows[0]), rows), "text/csv"


@pytest.fixture
def kotamobagu(api_client):
    open_program(api_client)
    return api_client


def test_a_village_list_is_imported_and_its_bad_rows_reported(kotamobagu):
    upload = village_list(siti(), candidate(2), candidate(3, nik="7174 01 45"))

    response = kotamobagu.post(f"{IMPORTS}/candidates", files={"file": upload})

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["kind"], report["rows"], report["accepted"], report["rejected"]) == (
        "candidates", 3, 2, 1)
    assert report["rejections"] == [{"row": 4, "field": "nik", "reason": report["rejections"][0]
                                     ["reason"]}]
    listed = kotamobagu.get(f"/programs/{PROGRAM_ID}/participants").json()["items"]
    assert len(listed) == 2

    again = kotamobagu.post(f"{IMPORTS}/candidates", files={"file": upload}).json()
    assert (again["accepted"], again["unchanged"], again["events_appended"]) == (0, 2, 0)


def test_a_village_list_is_verified_in_the_same_pass(kotamobagu):
    files = {"file": village_list(siti(), candidate(2)), "registry": registry_extract(siti())}

    report = kotamobagu.post(f"{IMPORTS}/candidates", files=files).json()

    assert (report["accepted"], report["matched"], report["mismatched"]) == (2, 1, 1)
    backlog = kotamobagu.get(f"/programs/{PROGRAM_ID}/backlog").json()
    assert backlog["by_reason"] == [{"reason": "nik_not_found", "participants": 1}]


def test_a_registry_extract_verifies_the_candidates_awaiting_it(kotamobagu):
    submit(kotamobagu, siti())
    submit(kotamobagu, candidate(2))

    files = {"file": registry_extract(siti(), candidate(2, mother_name="Hadijah Mokoginta"))}
    report = kotamobagu.post(f"{IMPORTS}/registry", files=files).json()

    assert (report["kind"], report["matched"], report["mismatched"]) == ("registry", 1, 1)
    mismatched = kotamobagu.get(f"/programs/{PROGRAM_ID}/participants",
                                params={"reason": "mother_name_differs"}).json()["items"]
    assert [p["full_name"] for p in mismatched] == ["Warga 2 Mokoagow"]


def test_a_kpj_file_enrolls_the_matched_participants(kotamobagu):
    matched_by_hand(kotamobagu, submit(kotamobagu, siti()))
    upload = ("kpj-tahap-1.csv", a_csv(["nik", "kpj"], [{"nik": siti()["nik"],
                                                         "kpj": "24012345678"}]), "text/csv")

    response = kotamobagu.post(f"{IMPORTS}/kpj", files={"file": upload},
                               data={"coverage_start": "2024-03-01", "batch": "tahap-1"})

    assert (response.json()["enrolled"], response.json()["rejected"]) == (1, 0)
    summary = kotamobagu.get(f"/programs/{PROGRAM_ID}").json()
    assert summary["totals"]["enrolled"] == 1
    late = kotamobagu.post(f"{IMPORTS}/kpj", files={"file": upload},
                           data={"coverage_start": "2025-01-01", "batch": "tahap-2"})
    assert_problem(late, 422, "outside-coverage-window", "coverage_start")
    typo = kotamobagu.post(f"{IMPORTS}/kpj", files={"file": upload},
                           data={"coverage_start": "2024-02-30", "batch": "tahap-2"})
    assert_problem(typo, 400, "invalid-input", "coverage_start")


def test_a_kpj_file_naming_one_kpj_for_two_people_enrolls_the_first_only(kotamobagu):
    for person in (siti(), candidate(2)):
        matched_by_hand(kotamobagu, submit(kotamobagu, person))
    rows = [{"nik": siti()["nik"], "kpj": "24012345678"},
            {"nik": candidate(2)["nik"], "kpj": "24012345678"}]
    upload = ("kpj-tahap-1.csv", a_csv(["nik", "kpj"], rows), "text/csv")

    report = kotamobagu.post(f"{IMPORTS}/kpj", files={"file": upload},
                             data={"coverage_start": "2024-03-01", "batch": "tahap-1"}).json()

    assert (report["enrolled"], report["rejected"]) == (1, 1)
    assert report["rejections"] == [{"row": 3, "field": "kpj", "reason": (
        "another participant of this program is enrolled with this KPJ")}]
    summary = kotamobagu.get(f"/programs/{PROGRAM_ID}").json()
    assert summary["totals"]["enrolled"] == 1


def test_a_file_that_is_not_a_village_list_is_refused_whole(kotamobagu):
    upload = ("kpj-tahap-1.csv", a_csv(["nik", "kpj"], [{"nik": "7174014503850001",
                                                         "kpj": "24012345678"}]), "text/csv")

    response = kotamobagu.post(f"{IMPORTS}/candidates", files={"file": upload})

    assert_problem(response, 400, "import-rejected", "file")


def test_an_upload_without_its_file_is_refused(kotamobagu):
    response = kotamobagu.post(f"{IMPORTS}/candidates",
                               files={"registry": registry_extract(siti())})

    assert_problem(response, 400, "invalid-input", "file")


def test_an_import_into_an_unknown_program_is_refused(api_client):
    response = api_client.post("/programs/gorontalo-2024/imports/candidates",
                           files={"file": village_list(siti())})

    assert_problem(response, 404, "program-not-found", "program_id")


def test_a_list_larger_than_the_memory_spool_is_streamed_through_disk(kotamobagu):
    # 20,000 rows (> 1 MiB) whose NIKs are unusable: refused row by row, nothing kept
    rows = [candidate(1, nik=f"71740{n:05d}") for n in range(20_000)]
    response = kotamobagu.post(f"{IMPORTS}/candidates", files={"file": village_list(*rows)})

    report = response.json()
    assert (report["rows"], report["rejected"], len(report["rejections"])) == (
        20_000, 20_000, 1000)
