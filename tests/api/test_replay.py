"""Replay over HTTP, on both databases: a participant, a claim and a program's reports as the
ledger stood at a log position or a recorded time, in the live endpoints' shapes."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from structlog.testing import capture_logs

from projections import as_of
from tests.api.scenario import (
    PHASE_1,
    PROGRAM_ID,
    SITI_NIK,
    SITI_NIK_MASKED,
    assert_problem,
    matched_by_hand,
    open_program,
    participant_url,
    siti,
    submit,
)
from tests.api.test_bills import BILLS, TARIFF, log_head, pay
from tests.api.test_claims_api import death, members, ok, payout, receive_all, report, step

__all__ = ["log_head", "members"]  # other modules' fixtures: imported to be used here

REPLAY = f"/replay/programs/{PROGRAM_ID}"
BEFORE_THE_PROGRAM = "2024-01-01T00:00:00+07:00"  # the tests record everything today


def replay(client: httpx.Client, path: str, **point: int | str) -> httpx.Response:
    return client.get(f"{REPLAY}/{path}", params=point)


def test_a_participant_as_of_each_step_shows_the_status_they_had_then(api_client, log_head):
    open_program(api_client)
    pid = submit(api_client, siti())
    positions = [log_head()]
    matched_by_hand(api_client, pid)
    positions.append(log_head())
    ok(api_client.post(participant_url(pid, "enrollment"), json=PHASE_1))
    positions.append(log_head())
    ok(api_client.post(participant_url(pid, "termination"), json={
        "reason": "moved", "effective_date": "2024-06-30"}))
    positions.append(log_head())
    live = api_client.get(participant_url(pid)).json()

    by_position = [ok(replay(api_client, f"participants/{pid}", position=p), 200)
                   for p in positions]
    by_time = [ok(replay(api_client, f"participants/{pid}", at=event["recorded_at"]), 200)
               for event in live["history"]]

    statuses = ["awaiting_verification", "matched", "enrolled", "terminated"]
    assert [r["status"] for r in by_position] == statuses
    assert [r["status"] for r in by_time] == statuses
    assert [r["position"] for r in by_position] == positions
    assert [len(r["history"]) for r in by_position] == [1, 2, 3, 4]
    enrolled = by_position[2]
    assert (enrolled["kpj"], enrolled["coverage_start"], enrolled["terminated_on"]) == (
        PHASE_1["kpj"], "2024-03-01", None)
    assert by_position[3] == {**live, "position": positions[3]}  # the head is the live answer
    assert enrolled["nik"] == SITI_NIK_MASKED
    assert enrolled["history"][0]["data"]["mother_name"] == "(hidden)"
    assert all(SITI_NIK not in replay(api_client, f"participants/{pid}", position=p).text
               for p in positions)


def test_a_claim_as_of_each_time_shows_the_stage_it_had_reached(api_client, members):
    siti_id = members[0]
    claim_id = ok(report(api_client, siti_id, death()))["claim_id"]
    ok(step(api_client, claim_id, "heirs", {"name": "Hasan Mokodompit", "relation": "spouse",
                                            "evidence": "KK", "recorded_on": "2024-05-21"}))
    receive_all(api_client, claim_id, "2024-05-23")
    ok(step(api_client, claim_id, "assessment", {"assessed_on": "2024-05-23"}))
    ok(step(api_client, claim_id, "approval", {"approved_on": "2024-05-24"}))
    for component, amount in (("jkm_lump_sum", 20_000_000), ("jkm_periodic", 12_000_000),
                              ("funeral", 10_000_000)):
        ok(step(api_client, claim_id, "payouts", payout(component, amount)))
    stages = api_client.get(f"/programs/{PROGRAM_ID}/claims/{claim_id}").json()["stages"]
    reported, documents, approved, paid = (
        next(s for s in stages if s["stage"] == name)["recorded_at"]
        for name in ("reported", "document_received", "approved", "payout_recorded"))

    as_reported, first_document, as_approved, first_paid = (
        ok(replay(api_client, f"claims/{claim_id}", at=time), 200)
        for time in (reported, documents, approved, paid))

    assert (as_reported["status"], len(as_reported["stages"])) == ("reported", 1)
    assert as_reported["documents_received"] == [] and as_reported["heirs"] == []
    assert [d["document"] for d in first_document["documents_received"]] == ["kpj_card"]
    assert first_document["heirs"][0]["name"] == "Hasan Mokodompit"
    assert (as_approved["status"], as_approved["approved_idr"], as_approved["paid_idr"]) == (
        "approved", 42_000_000, 0)
    assert (first_paid["status"], first_paid["paid_idr"], first_paid["outstanding_idr"]) == (
        "paid", 20_000_000, 22_000_000)
    assert first_paid["as_of"] == datetime.fromisoformat(paid).date().isoformat()
    assert first_paid["position"] > as_approved["position"] > as_reported["position"]


def test_the_budget_and_findings_as_of_a_position_are_the_reports_at_that_position(
        api_client, members, log_head):
    paid_through_may = log_head()
    api_client.post(BILLS, json={"period": "2024-06"})
    assert pay(api_client, "2024-06", 3 * TARIFF, ref="SP2D-2024-06",
               paid_on="2024-06-10").status_code == 201
    reports = f"/programs/{PROGRAM_ID}/reports"

    for name in ("budget", "findings"):
        replayed = ok(replay(api_client, name, position=paid_through_may), 200)
        assert replayed == api_client.get(f"{reports}/{name}",
                                          params={"position": paid_through_may}).json()
    budget = ok(replay(api_client, "budget", position=paid_through_may), 200)["budget"]
    assert budget["paid_idr"] == 9 * TARIFF  # March to May: June was paid later
    now = datetime.now(UTC).isoformat()
    assert ok(replay(api_client, "budget", at=now), 200)["budget"]["paid_idr"] == 12 * TARIFF


def test_a_budget_replayed_from_a_kept_checkpoint_is_the_live_one(api_client, members,
                                                                  log_head, monkeypatch):
    """Given every replay kept as a checkpoint, the budget as of May's payments is kept;
    June billed and paid after it, the budget as of now replays from it, and equals the
    live budget."""
    monkeypatch.setattr(as_of, "KEEP_AFTER_S", 0.0)
    paid_through_may = log_head()
    ok(replay(api_client, "budget", position=paid_through_may), 200)
    api_client.post(BILLS, json={"period": "2024-06"})
    assert pay(api_client, "2024-06", 3 * TARIFF, ref="SP2D-2024-06",
               paid_on="2024-06-10").status_code == 201

    with capture_logs() as logs:
        now = ok(replay(api_client, "budget", at=datetime.now(UTC).isoformat()), 200)

    assert [entry["from_position"] for entry in logs
            if entry["event"] == "as_of_replayed"] == [paid_through_may]
    live = ok(api_client.get(f"/programs/{PROGRAM_ID}/reports/budget"), 200)
    assert now["budget"] == live["budget"] and now["budget"]["paid_idr"] == 12 * TARIFF


def test_before_anything_was_recorded_there_is_nothing_to_find(api_client, members):
    siti_id = members[0]
    claim_id = ok(report(api_client, siti_id, death()))["claim_id"]

    for point in ({"at": BEFORE_THE_PROGRAM}, {"position": 0}):
        assert_problem(replay(api_client, f"participants/{siti_id}", **point), 404,
                       "participant-not-found", "participant_id")
        assert_problem(replay(api_client, f"claims/{claim_id}", **point), 404,
                       "claim-not-found", "claim_id")
        assert_problem(replay(api_client, "budget", **point), 404, "program-not-found",
                       "program_id")
    assert_problem(api_client.get(f"/replay/programs/nowhere-2024/participants/{siti_id}",
                                  params={"position": 1}), 404, "program-not-found",
                   "program_id")


def test_a_point_beyond_the_log_or_not_a_time_is_refused_naming_the_field(api_client,
                                                                         log_head):
    open_program(api_client)
    pid = submit(api_client, siti())
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()

    for point, field in (({"position": log_head() + 1}, "position"),
                         ({"position": -1}, "position"),
                         ({"position": "first"}, "position"),
                         ({"at": "2024-07-01T00:00:00"}, "at"),  # no offset: whose midnight?
                         ({"at": "2024-07-01"}, "at"),
                         ({"at": "30/06/2024"}, "at"),
                         ({"at": tomorrow}, "at"),
                         ({}, "position"),
                         ({"position": 1, "at": BEFORE_THE_PROGRAM}, "position")):
        for path in (f"participants/{pid}", "claims/JKK-2024-04-02", "budget", "findings"):
            assert_problem(replay(api_client, path, **point), 400, "invalid-input", field)
    assert_problem(replay(api_client, "participants/not-a-uuid", position=1), 400,
                   "invalid-input", "participant_id")


@pytest.mark.parametrize("offset", ["Z", "+07:00"])
def test_a_time_is_read_with_its_offset(api_client, log_head, offset):
    open_program(api_client)
    pid = submit(api_client, siti())
    recorded = datetime.fromisoformat(
        api_client.get(participant_url(pid)).json()["history"][0]["recorded_at"])
    written = recorded.astimezone(UTC if offset == "Z" else
                                  datetime.fromisoformat(f"2024-01-01T00:00{offset}").tzinfo)

    found = ok(replay(api_client, f"participants/{pid}",
                      at=written.isoformat().replace("+00:00", "Z")), 200)

    assert (found["status"], found["position"]) == ("awaiting_verification", log_head())


def test_the_replay_routes_are_in_the_openapi_document(api_client):
    paths = api_client.get("/schema/openapi.json").json()["paths"]

    assert {f"/replay/programs/{{program_id}}/{path}" for path in (
        "participants/{participant_id}", "claims/{claim_id}", "budget", "findings")} <= set(paths)
    parameters = paths["/replay/programs/{program_id}/budget"]["get"]["parameters"]
    assert {"position", "at"} <= {p["name"] for p in parameters}
