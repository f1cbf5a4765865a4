"""A command answers from what it decided, without waiting for the read models: what it
answers is what a read right after shows."""

from typing import Any

import httpx

from tests.api.live_server import a_client, running
from tests.api.scenario import (
    PROGRAM_ID,
    open_program,
    participant_url,
    siti,
    submit,
    write_registry,
)
from tests.api.test_claims_api import CLAIMS, death, members, ok, payout, report, step

__all__ = ["members"]  # test_claims_api's fixture: imported to be used here, not unused


def read_claim(client: httpx.Client, claim_id: str) -> dict[str, Any]:
    view = ok(client.get(f"{CLAIMS}/{claim_id}"), 200)
    del view["stages"]  # the timeline: a read's own, not in a command's answer
    return view


def test_a_verification_answers_the_status_and_reasons_a_read_shows(api_client,
                                                                    api_registry_csv):
    # Given Disdukcapil holds Siti with another name and another mother's name
    open_program(api_client)
    write_registry(api_registry_csv, siti(full_name="Sitti Rahmawati Mokodongan",
                                          mother_name="Hadijah Paputungan"))
    siti_id = submit(api_client, siti())

    # When she is verified
    verified = ok(api_client.post(participant_url(siti_id, "verification")))

    # Then the answer names the reasons in the order and with the details a read shows
    read = ok(api_client.get(participant_url(siti_id)), 200)
    assert verified["status"] == read["status"] == "mismatched"
    assert verified["reasons"] == read["reasons"]
    assert [r["reason"] for r in verified["reasons"]] == ["mother_name_differs", "name_differs"]


def test_every_step_of_a_claim_answers_the_claim_a_read_shows(api_client, members):
    # Given a death reported for an enrolled member
    answer = ok(report(api_client, members[0], death()))
    claim_id = answer["claim_id"]
    assert answer == read_claim(api_client, claim_id)

    # When it goes through its heir, assessment, documents, approval, payouts and closure
    steps = [("heirs", {"name": "Hasan Mokodompit", "relation": "spouse",
                        "evidence": "KK 7174010101080001", "recorded_on": "2024-05-21"}),
             ("assessment", {"assessed_on": "2024-05-22"})]
    steps += [("documents", {"document": document, "received_on": "2024-05-23",
                             "reference": f"{document}-1"})
              for document in answer["documents_missing"] + ["marriage_book"]]
    steps += [("approval", {"approved_on": "2024-05-24"}),
              ("payouts", payout("jkm_lump_sum", 20_000_000)),
              ("payouts", payout("jkm_periodic", 12_000_000)),
              ("payouts", payout("funeral", 10_000_000)),
              ("closure", {"closed_on": "2024-05-28"})]

    # Then each answer is the claim as a read right after shows it, service level included
    for command, body in steps:
        answer = ok(step(api_client, claim_id, command, body))
        assert answer == read_claim(api_client, claim_id), command
    assert (answer["status"], answer["sla_status"], answer["paid_idr"]) == (
        "closed", "on_time", 42_000_000)


def test_a_read_sees_a_command_another_api_server_answered(api_app, api_client):
    # Given a second API server over the same database (its own pool and projection
    # runner, as another process has), with no projection worker running
    open_program(api_client)
    with running(api_app()) as other_url, a_client(other_url) as other:
        other.get(f"/programs/{PROGRAM_ID}")

        # When a candidate is submitted through the first
        submit(api_client, siti())

        # Then a read from the second shows it at once
        summary = ok(other.get(f"/programs/{PROGRAM_ID}"), 200)
        assert summary["totals"]["submitted"] == 1
