"""Any stream's history over HTTP: type, business date, recorded time and actor."""

from ledger import program
from tests.api.scenario import (
    PROGRAM_ID,
    SITI_NIK,
    SITI_NIK_MASKED,
    assert_problem,
    open_program,
    siti,
    submit,
)


def test_a_streams_history_names_each_events_business_date_and_actor(api_client):
    open_program(api_client)
    participant_id = submit(api_client, siti())

    program_history = api_client.get(f"/streams/{program.stream_id(PROGRAM_ID)}/history")
    participant = api_client.get(f"/streams/{participant_id}/history")

    (opened,) = program_history.json()
    assert (opened["type"], opened["business_date"]) == ("program.opened.v1", "2024-03-01")
    (submitted,) = participant.json()
    assert (submitted["type"], submitted["business_date"]) == ("participant.submitted.v1", None)
    assert submitted["actor_id"] and submitted["recorded_at"]
    assert submitted["data"]["nik"] == SITI_NIK_MASKED and SITI_NIK not in participant.text


def test_an_unknown_or_malformed_stream_is_refused_by_name(api_client):
    assert_problem(api_client.get("/streams/0b7c2f8e-6a51-5c1e-9d3f-2a4b6c8d0e1f/history"),
                   404, "stream-not-found", "stream_id")
    assert_problem(api_client.get("/streams/not-a-uuid/history"), 400, "invalid-input",
                   "stream_id")
