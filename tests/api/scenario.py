"""The domain's words for API tests: Kota Kotamobagu (7174), its villages and candidates."""

import csv
from datetime import date
from pathlib import Path
from typing import Any

import httpx

PROGRAM_ID = "kotamobagu-2024"
SITI_NIK = "7174014503850001"  # Kotamobagu Barat, born 5 Mar 1985 (+40: a woman), serial 1
SITI_NIK_MASKED = "717401******0001"
PHASE_1 = {"kpj": "24012345678", "coverage_start": "2024-03-01", "batch": "tahap-1"}


def kotamobagu(**changes: Any) -> dict[str, Any]:
    """The 2024 agreement (PKS) of Kota Kotamobagu with BPJS TK, as an OpenProgram body."""
    return {
        "program_id": PROGRAM_ID, "region_code": "7174", "region_name": "Kota Kotamobagu",
        "fiscal_year": 2024, "agreement_ref": "PKS/BPJSTK/2024/022", "quota_total": 9000,
        "cohort_quotas": {"informal": 9000}, "budget_idr": {"APBD": 1_512_000_000},
        "coverage_start": "2024-03-01", "coverage_end": "2024-12-31", **changes,
    }


def a_nik(serial: int, born: date = date(1985, 3, 5), sex: str = "P") -> str:
    """A valid Kotamobagu Barat NIK: 40 is added to the day of birth of a woman."""
    day = born.day + 40 if sex == "P" else born.day
    return f"717401{day:02d}{born:%m%y}{serial:04d}"


def siti(**changes: Any) -> dict[str, Any]:
    """Siti Mokodompit, street vendor of Gogagoman, as a village submits her."""
    return {
        "nik": SITI_NIK, "full_name": "Siti Mokodompit", "birth_date": "1985-03-05", "sex": "P",
        "mother_name": "Nurhayati Paputungan", "address": "Jl. Adampe No. 4, RT 002/RW 001",
        "village": "Gogagoman", "occupation": "street vendor", "cohort": "informal",
        "submitted_by": "Kelurahan Gogagoman", **changes,
    }


def candidate(serial: int, village: str = "Gogagoman", **changes: Any) -> dict[str, Any]:
    """Another woman of the city, born the same day as Siti, with her own serial."""
    return siti(**{"nik": a_nik(serial), "full_name": f"Warga {serial} Mokoagow",
                   "village": village, "submitted_by": f"Kelurahan {village}", **changes})


def as_registry_row(body: dict[str, Any]) -> dict[str, str]:
    return {k: body[k] for k in ("nik", "full_name", "birth_date", "sex", "mother_name")}


def write_registry(path: Path, *people: dict[str, Any]) -> None:
    """A Disdukcapil extract holding these people as the registry knows them."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, ["nik", "full_name", "birth_date", "sex", "mother_name"])
        writer.writeheader()
        writer.writerows(as_registry_row(p) for p in people)


def open_program(client: httpx.Client, **changes: Any) -> dict[str, Any]:
    response = client.post("/programs", json=kotamobagu(**changes))
    assert response.status_code == 201, response.text
    return response.json()


def submit(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post(f"/programs/{PROGRAM_ID}/participants", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()["participant_id"]


def participant_url(participant_id: str, command: str = "") -> str:
    url = f"/programs/{PROGRAM_ID}/participants/{participant_id}"
    return f"{url}/{command}" if command else url


def matched_by_hand(client: httpx.Client, participant_id: str) -> None:
    """Disdukcapil's counter confirmed the candidate (a verification done elsewhere)."""
    response = client.post(participant_url(participant_id, "verification-results"), json={
        "outcome": "matched", "source": "Surat Disdukcapil 470/112/2024",
        "verified_on": "2024-02-20"})
    assert response.status_code == 201, response.text


def assert_problem(response: httpx.Response, status: int, code: str,
                   field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code, problem
    assert problem["type"] == f"https://pekerja-rentan-ledger.id/problems/{code}"
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    assert problem["instance"] == response.request.url.path
    assert problem.get("field") == field, problem
    return problem
