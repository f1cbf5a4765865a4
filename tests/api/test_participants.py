"""Candidates over HTTP: submit, resubmit, read one with its history, list and page."""

import uuid

import pytest

from ledger.settings import Settings
from ledger.system import open_system
from tests.api.scenario import (
    PROGRAM_ID,
    SITI_NIK,
    SITI_NIK_MASKED,
    a_nik,
    assert_problem,
    candidate,
    matched_by_hand,
    open_program,
    participant_url,
    siti,
    submit,
)

PARTICIPANTS = f"/programs/{PROGRAM_ID}/participants"


@pytest.fixture
def kotamobagu(api_client):
    open_program(api_client)
    return api_client


def test_a_submitted_candidate_awaits_verification(kotamobagu):
    response = kotamobagu.post(PARTICIPANTS, json=siti())

    assert response.status_code == 201
    result = response.json()
    assert result["appended_events"] == 1
    assert result["status"] == "awaiting_verification"
    uuid.UUID(result["participant_id"])


def test_an_identical_resubmission_appends_nothing(kotamobagu):
    first = kotamobagu.post(PARTICIPANTS, json=siti()).json()

    again = kotamobagu.post(PARTICIPANTS, json=siti())

    assert again.status_code == 200
    assert again.json()["participant_id"] == first["participant_id"]
    assert again.json()["appended_events"] == 0
    detail = kotamobagu.get(participant_url(first["participant_id"])).json()
    assert detail["submissions"] == 1 and len(detail["history"]) == 1


def test_a_participant_reads_back_with_a_masked_nik_and_its_history(kotamobagu):
    headers = {"Idempotency-Key": "village-list-2024-02/row-7"}  # the clerk's token names them
    submitted = kotamobagu.post(PARTICIPANTS, json=siti(), headers=headers).json()

    response = kotamobagu.get(participant_url(submitted["participant_id"]))

    detail = response.json()
    assert detail["nik"] == SITI_NIK_MASKED
    assert detail["full_name"] == "Siti Mokodompit"
    assert detail["status"] == "awaiting_verification"
    (event,) = detail["history"]
    assert event["type"] == "participant.submitted.v1" and event["version"] == 1
    assert (event["actor_id"], event["actor_role"]) == ("clerk-gogagoman", "enrollment_clerk")
    assert event["command_id"] == "village-list-2024-02/row-7"
    assert event["data"]["nik"] == SITI_NIK_MASKED
    assert SITI_NIK not in response.text


def test_reading_a_participant_waits_for_their_own_events_not_the_whole_log(
        kotamobagu, db_url, tmp_path):
    siti_id = submit(kotamobagu, siti())
    submit(kotamobagu, candidate(1))
    matched_by_hand(kotamobagu, siti_id)
    submit(kotamobagu, candidate(2))  # after Siti's last event: none of her page's business

    detail = kotamobagu.get(participant_url(siti_id)).json()

    assert detail["status"] == "matched"
    with open_system(Settings(database_url=db_url, data_dir=tmp_path)) as system:
        her_last = system.store.last_position(uuid.UUID(siti_id))
        assert system.projections.positions()["participants"] == her_last
        assert her_last < system.store.head()


def test_a_candidate_is_refused_for_what_is_wrong_with_them(kotamobagu):
    assert_problem(kotamobagu.post(PARTICIPANTS, json=siti(nik="71740145038500")), 400,
                   "invalid-input", "nik")
    assert_problem(kotamobagu.post(PARTICIPANTS, json=siti(birth_date="1985-02-30")), 400,
                   "invalid-input", "birth_date")
    assert_problem(kotamobagu.post(PARTICIPANTS, json=siti(sex="W")), 400, "invalid-input",
                   "sex")
    assert_problem(kotamobagu.post(PARTICIPANTS, json=siti(cohort="p3ke")), 400,
                   "invalid-input", "cohort")
    assert_problem(kotamobagu.post(PARTICIPANTS, json=siti(full_name=["Siti"])), 400,
                   "invalid-input", "full_name")
    body = siti()
    del body["mother_name"]
    assert_problem(kotamobagu.post(PARTICIPANTS, json=body), 400, "invalid-input",
                   "mother_name")


def test_a_candidate_of_an_unknown_program_is_refused(api_client):
    response = api_client.post("/programs/gorontalo-2024/participants", json=siti())

    assert_problem(response, 404, "program-not-found", "program_id")


def test_a_participant_id_must_be_a_uuid(kotamobagu):
    response = kotamobagu.get(participant_url("not-a-uuid"))

    assert_problem(response, 400, "invalid-input", "participant_id")


def test_a_nik_typed_as_participant_id_is_refused_and_never_echoed(kotamobagu):
    response = kotamobagu.post(participant_url(SITI_NIK, "enrollment"), json={
        "kpj": "24012345678", "coverage_start": "2024-03-01", "batch": "tahap-1"})

    assert response.status_code == 400
    assert response.json()["field"] == "participant_id"
    assert SITI_NIK not in response.text
    assert response.json()["instance"].endswith(SITI_NIK_MASKED + "/enrollment")


def test_an_unknown_participant_is_not_found(kotamobagu):
    response = kotamobagu.get(participant_url(str(uuid.uuid4())))

    assert_problem(response, 404, "participant-not-found", "participant_id")


def test_participants_are_listed_by_filter_one_page_at_a_time(kotamobagu):
    ids = sorted(submit(kotamobagu, candidate(serial, village))
                 for serial, village in enumerate(["Gogagoman"] * 5 + ["Motoboi Kecil"] * 2, 1))

    pages, after = [], None
    while True:
        params = {"limit": 3} | ({"after": after} if after else {})
        page = kotamobagu.get(PARTICIPANTS, params=params).json()
        pages.append([p["participant_id"] for p in page["items"]])
        after = page["next_after"]
        if after is None:
            break

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [pid for page in pages for pid in page] == ids
    motoboi = kotamobagu.get(PARTICIPANTS, params={"village": "Motoboi Kecil"}).json()
    assert {p["village"] for p in motoboi["items"]} == {"Motoboi Kecil"}
    assert len(motoboi["items"]) == 2 and motoboi["next_after"] is None
    awaiting = kotamobagu.get(PARTICIPANTS, params={"status": "awaiting_verification",
                                                    "cohort": "informal"}).json()
    assert len(awaiting["items"]) == 7
    assert all(p["nik"].startswith("717401******") for p in awaiting["items"])
    assert kotamobagu.get(PARTICIPANTS, params={"status": "enrolled"}).json()["items"] == []
    assert kotamobagu.get(PARTICIPANTS, params={"reason": "nik_not_found"}).json()["items"] == []


def test_a_list_filter_must_name_a_known_value(kotamobagu):
    assert_problem(kotamobagu.get(PARTICIPANTS, params={"status": "padan"}), 400,
                   "invalid-input", "status")
    assert_problem(kotamobagu.get(PARTICIPANTS, params={"reason": "nik_typo"}), 400,
                   "invalid-input", "reason")
    assert_problem(kotamobagu.get(PARTICIPANTS, params={"limit": 501}), 400, "invalid-input",
                   "limit")
    assert_problem(kotamobagu.get(PARTICIPANTS, params={"limit": 0}), 400, "invalid-input",
                   "limit")
    assert_problem(kotamobagu.get(PARTICIPANTS, params={"after": a_nik(1)}), 400,
                   "invalid-input", "after")
