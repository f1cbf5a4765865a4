"""A candidate's life over HTTP: verified, corrected, re-verified, enrolled, terminated."""

from datetime import date

import pytest

from tests.api.live_server import a_client, running
from tests.api.scenario import (
    PHASE_1,
    PROGRAM_ID,
    a_nik,
    assert_problem,
    candidate,
    matched_by_hand,
    open_program,
    participant_url,
    siti,
    submit,
    write_registry,
)


@pytest.fixture
def kotamobagu(api_client):
    open_program(api_client)
    return api_client


def test_siti_goes_from_submission_to_termination(kotamobagu, api_registry_csv):
    # Given the village wrote down another mother's name than Disdukcapil holds
    write_registry(api_registry_csv, siti(mother_name="Hadijah Paputungan"))
    siti_id = submit(kotamobagu, siti())

    # When she is verified against the registry, she is tidak padan, for that reason
    verified = kotamobagu.post(participant_url(siti_id, "verification"))
    assert verified.status_code == 201
    assert verified.json()["status"] == "mismatched"
    assert [r["reason"] for r in verified.json()["reasons"]] == ["mother_name_differs"]
    backlog = kotamobagu.get(f"/programs/{PROGRAM_ID}/backlog").json()
    assert backlog["by_reason"] == [{"reason": "mother_name_differs", "participants": 1}]
    again = kotamobagu.post(participant_url(siti_id, "verification"))
    assert (again.status_code, again.json()["appended_events"]) == (200, 0)

    # When the clerk corrects the mother's name and verifies again, she is padan
    corrected = kotamobagu.post(participant_url(siti_id, "corrections"), json={
        "mother_name": "Hadijah Paputungan", "reason": "KK checked at the kelurahan"})
    assert corrected.json()["status"] == "awaiting_verification"
    assert kotamobagu.post(participant_url(siti_id, "verification")).json()["status"] == "matched"

    # Then she is enrolled with her KPJ, once
    enrolled = kotamobagu.post(participant_url(siti_id, "enrollment"), json=PHASE_1)
    assert (enrolled.status_code, enrolled.json()["status"]) == (201, "enrolled")
    assert_problem(kotamobagu.post(participant_url(siti_id, "enrollment"), json=PHASE_1), 409,
                   "already-enrolled")
    summary = kotamobagu.get(f"/programs/{PROGRAM_ID}").json()
    assert summary["totals"]["enrolled"] == 1 and summary["quota_remaining"] == 8999

    # And her death ends her membership and gives her seat back
    terminated = kotamobagu.post(participant_url(siti_id, "termination"), json={
        "reason": "died", "effective_date": "2024-06-10", "note": "Akta kematian 12/2024"})
    assert terminated.json()["status"] == "terminated"
    assert_problem(kotamobagu.post(participant_url(siti_id, "termination"), json={
        "reason": "died", "effective_date": "2024-06-10"}), 409, "already-terminated")
    summary = kotamobagu.get(f"/programs/{PROGRAM_ID}").json()
    assert summary["totals"]["terminated"] == 1 and summary["quota_remaining"] == 9000

    detail = kotamobagu.get(participant_url(siti_id)).json()
    assert detail["kpj"] == "24012345678" and detail["terminated_on"] == "2024-06-10"
    assert [e["type"] for e in detail["history"]] == [
        "participant.submitted.v1", "participant.verified.v1", "participant.corrected.v1",
        "participant.verified.v1", "participant.enrolled.v1", "participant.terminated.v1"]
    assert detail["history"][1]["data"]["source"] == f"dukcapil:{api_registry_csv.name}"


def test_a_candidate_the_registry_does_not_know_is_not_found_there(kotamobagu, api_registry_csv):
    write_registry(api_registry_csv, siti())
    other = submit(kotamobagu, candidate(2))

    verified = kotamobagu.post(participant_url(other, "verification")).json()

    assert verified["status"] == "mismatched"
    assert [r["reason"] for r in verified["reasons"]] == ["nik_not_found"]


def test_only_a_matched_candidate_can_be_enrolled(kotamobagu):
    siti_id = submit(kotamobagu, siti())

    response = kotamobagu.post(participant_url(siti_id, "enrollment"), json=PHASE_1)

    assert_problem(response, 409, "not-matched")


def test_enrollment_respects_the_coverage_window_and_the_age_cap(kotamobagu):
    siti_id = submit(kotamobagu, siti())
    matched_by_hand(kotamobagu, siti_id)
    late = kotamobagu.post(participant_url(siti_id, "enrollment"),
                           json={**PHASE_1, "coverage_start": "2025-01-01"})
    assert_problem(late, 422, "outside-coverage-window", "coverage_start")

    elder = submit(kotamobagu, candidate(2, birth_date="1950-03-05",
                                         nik=a_nik(2, born=date(1950, 3, 5))))
    matched_by_hand(kotamobagu, elder)
    too_old = kotamobagu.post(participant_url(elder, "enrollment"), json=PHASE_1)
    assert_problem(too_old, 422, "over-age-cap", "birth_date")


def test_a_mismatch_recorded_by_hand_needs_a_known_reason(kotamobagu):
    siti_id = submit(kotamobagu, siti())
    url = participant_url(siti_id, "verification-results")
    body = {"outcome": "mismatched", "source": "Surat Disdukcapil 470/113/2024",
            "verified_on": "2024-02-21"}

    assert_problem(kotamobagu.post(url, json=body | {"reasons": [
        {"code": "typo", "field": "nik", "detail": "?"}]}), 400, "invalid-input", "reasons")
    recorded = kotamobagu.post(url, json=body | {"reasons": [
        {"code": "nik_other_region", "field": "nik", "detail": "KTP from Bolaang Mongondow"}]})
    assert recorded.json()["status"] == "mismatched"


def test_enrolling_over_the_quota_is_refused(api_client):
    open_program(api_client, quota_total=1, cohort_quotas={"informal": 1})
    first, second = submit(api_client, siti()), submit(api_client, candidate(2))
    matched_by_hand(api_client, first)
    matched_by_hand(api_client, second)
    assert api_client.post(participant_url(first, "enrollment"), json=PHASE_1).status_code == 201

    response = api_client.post(participant_url(second, "enrollment"), json=PHASE_1)

    assert_problem(response, 409, "quota-full")


def test_a_kpj_another_participant_was_enrolled_with_is_refused(kotamobagu):
    # Given Siti is enrolled with her KPJ
    siti_id, fitri_id = submit(kotamobagu, siti()), submit(kotamobagu, candidate(2))
    matched_by_hand(kotamobagu, siti_id)
    matched_by_hand(kotamobagu, fitri_id)
    assert kotamobagu.post(participant_url(siti_id, "enrollment"), json=PHASE_1).status_code == 201

    # When a clerk enrolls Fitri with Siti's KPJ
    response = kotamobagu.post(participant_url(fitri_id, "enrollment"), json=PHASE_1)

    # Then it is refused, naming the field but not the KPJ or whose it is, and Fitri waits
    assert_problem(response, 409, "kpj-in-use", "kpj")
    assert PHASE_1["kpj"] not in response.text and siti_id not in response.text
    assert kotamobagu.get(participant_url(fitri_id)).json()["status"] == "matched"


def test_verification_needs_a_configured_registry(api_app, monkeypatch):
    monkeypatch.delenv("LEDGER_REGISTRY_PATH", raising=False)
    with running(api_app()) as base_url, a_client(base_url) as client:
        open_program(client)
        siti_id = submit(client, siti())

        response = client.post(participant_url(siti_id, "verification"))

    problem = assert_problem(response, 409, "registry-not-configured")
    assert "LEDGER_REGISTRY_PATH" in problem["detail"]


def test_verification_against_a_registry_file_that_is_missing(kotamobagu):
    siti_id = submit(kotamobagu, siti())

    response = kotamobagu.post(participant_url(siti_id, "verification"))

    assert_problem(response, 409, "registry-not-configured")
