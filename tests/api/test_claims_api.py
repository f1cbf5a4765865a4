"""Claims over HTTP, on both databases: a death and an accident from report to payout, the
claims report now and as it stood, and every refusal a specific problem naming the field,
with the log left exactly as it was."""

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openpyxl
import pytest

from tests.api.scenario import (
    PROGRAM_ID,
    assert_problem,
    candidate,
    open_program,
    participant_url,
    submit,
)
from tests.api.test_bills import BILLS, TARIFF, enrolled_members, log_head, pay
from tests.api.test_reports import sections

__all__ = ["log_head"]  # test_bills' fixture: imported to be used here, not unused

CLAIMS = f"/programs/{PROGRAM_ID}/claims"
REPORT = f"/programs/{PROGRAM_ID}/reports/claims"
JKM_DOCUMENTS = ["kpj_card", "ktp_deceased", "ktp_heir", "death_certificate", "family_card",
                 "heir_certificate", "savings_book"]
FAMILY_CARD = "7174010101080001"  # a KK number: 16 digits, masked like a NIK


@pytest.fixture
def members(api_client) -> list[str]:
    """Three women of Gogagoman enrolled from March 2024, March to May billed and paid."""
    open_program(api_client)
    ids = enrolled_members(api_client)
    for period in ("2024-03", "2024-04", "2024-05"):
        assert api_client.post(BILLS, json={"period": period}).status_code == 201
        assert pay(api_client, period, 3 * TARIFF, ref=f"SP2D-{period}",
                   paid_on=f"{period}-10").status_code == 201
    return ids


def death(**changes: Any) -> dict[str, Any]:
    return {"benefit": "JKM", "incident_date": "2024-05-20", "reported_on": "2024-05-20",
            "reporter_name": "Hasan Mokodompit", "reporter_relation": "spouse",
            "circumstances": "illness at home", **changes}


def accident(**changes: Any) -> dict[str, Any]:
    return {"benefit": "JKK", "incident_date": "2024-04-02", "reported_on": "2024-04-03",
            "reporter_name": "Warga 3 Mokoagow", "reporter_relation": "self",
            "circumstances": "cut at the construction site", **changes}


def report(client: httpx.Client, participant_id: str, body: dict[str, Any]) -> httpx.Response:
    return client.post(participant_url(participant_id, "claims"), json=body)


def step(client: httpx.Client, claim_id: str, command: str,
         body: dict[str, Any]) -> httpx.Response:
    return client.post(f"{CLAIMS}/{claim_id}/{command}", json=body)


def ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


def receive_all(client: httpx.Client, claim_id: str, day: str) -> dict[str, Any]:
    view = client.get(f"{CLAIMS}/{claim_id}").json()
    for document in view["documents_missing"]:
        view = ok(step(client, claim_id, "documents", {
            "document": document, "received_on": day, "reference": f"{document}-1"}))
    return view


def payout(component: str, amount_idr: int, **changes: Any) -> dict[str, Any]:
    return {"payout_ref": f"TRF-{component}", "payee_name": "Hasan Mokodompit",
            "relation": "spouse", "component": component, "amount_idr": amount_idr,
            "paid_on": "2024-05-27", **changes}


def test_a_death_is_documented_assessed_approved_paid_and_closed(api_client, members,
                                                                  log_head):
    siti = members[0]
    view = ok(report(api_client, siti, death()))
    claim_id = view["claim_id"]

    assert claim_id == f"death-{siti}"
    assert (view["status"], view["benefit"], view["fatal"], view["sla_status"]) == (
        "reported", "JKM", True, "documents_incomplete")
    assert view["documents_missing"] == JKM_DOCUMENTS
    assert api_client.get(participant_url(siti)).json()["status"] == "terminated"

    view = ok(step(api_client, claim_id, "heirs", {
        "name": "Hasan Mokodompit", "relation": "spouse", "evidence": f"KK {FAMILY_CARD}",
        "recorded_on": "2024-05-21"}))
    assert view["heirs"] == [{"name": "Hasan Mokodompit", "relation": "spouse",
                              "evidence": "KK 717401******0001", "recorded_on": "2024-05-21"}]
    assert view["documents_missing"] == [*JKM_DOCUMENTS, "marriage_book"]
    view = ok(step(api_client, claim_id, "assessment", {"assessed_on": "2024-05-22"}))
    assert view["assessment"]["eligible"] and view["status"] == "assessed"
    assert [(line["component"], line["amount_idr"]) for line in view["assessment"]["lines"]] == [
        ("jkm_lump_sum", 20_000_000), ("jkm_periodic", 12_000_000), ("funeral", 10_000_000)]
    head = log_head()
    assert_problem(step(api_client, claim_id, "approval", {"approved_on": "2024-05-24"}), 422,
                   "missing-documents", "documents")
    assert log_head() == head

    view = receive_all(api_client, claim_id, "2024-05-23")  # a Thursday
    assert (view["documents_complete_on"], view["due_on"]) == ("2024-05-23", "2024-05-28")
    again = step(api_client, claim_id, "documents", {
        "document": "kpj_card", "received_on": "2024-05-23", "reference": "kpj_card-1"})
    assert again.status_code == 200 and log_head() == head + 8
    view = ok(step(api_client, claim_id, "approval", {"approved_on": "2024-05-24"}))
    assert (view["approval"]["amount_idr"], view["outstanding_idr"]) == (42_000_000, 42_000_000)
    for component, amount in (("jkm_lump_sum", 20_000_000), ("jkm_periodic", 12_000_000),
                              ("funeral", 10_000_000)):
        view = ok(step(api_client, claim_id, "payouts", payout(component, amount)))
    assert (view["status"], view["paid_idr"], view["outstanding_idr"]) == ("paid", 42_000_000, 0)
    assert (view["sla_status"], view["days_late"], view["days_to_payment"]) == ("on_time", 0, 7)
    view = ok(step(api_client, claim_id, "closure", {"closed_on": "2024-05-28"}))
    assert view["status"] == "closed"

    detail = api_client.get(f"{CLAIMS}/{claim_id}").json()
    assert [s["stage"] for s in detail["stages"]] == [
        "reported", "heir_recorded", "assessed", *["document_received"] * 8, "approved",
        *["payout_recorded"] * 3, "closed"]
    assert detail["stages"][1]["detail"] == "heir: spouse"  # the evidence is on the heir
    assert FAMILY_CARD not in api_client.get(f"{CLAIMS}/{claim_id}").text
    assert [p["payout_ref"] for p in detail["payouts"]] == [
        "TRF-jkm_lump_sum", "TRF-jkm_periodic", "TRF-funeral"]
    listed = api_client.get(CLAIMS).json()
    assert [(c["claim_id"], c["status"], c["paid_idr"]) for c in listed] == [
        (claim_id, "closed", 42_000_000)]
    reopened = ok(step(api_client, claim_id, "reopening", {
        "reopened_on": "2024-06-03", "reason": "a second child's school certificate"}))
    assert (reopened["status"], reopened["assessment"]) == ("reported", None)


def test_an_accident_in_an_unpaid_month_is_rejected_naming_the_month(api_client, members):
    view = ok(report(api_client, members[1], accident(
        incident_date="2024-06-20", reported_on="2024-06-21", traffic_accident=True,
        claim_id="JKK-2024-06-20-ojek")))
    claim_id = view["claim_id"]
    assert claim_id == "JKK-2024-06-20-ojek" and "police_report" in view["documents_missing"]

    view = ok(step(api_client, claim_id, "assessment", {
        "assessed_on": "2024-06-25", "medical_cost_idr": 2_000_000}))
    assert not view["assessment"]["eligible"]
    assert (view["assessment"]["failed_rule"], view["assessment"]["failed_month"]) == (
        "month_not_covered", "2024-06")
    assert_problem(step(api_client, claim_id, "approval", {"approved_on": "2024-06-25"}), 409,
                   "claim-state-conflict", "claim_id")
    view = ok(step(api_client, claim_id, "rejection", {
        "rejected_on": "2024-06-25", "reason_code": "month_not_covered",
        "detail": "June 2024 unpaid"}))
    assert (view["status"], view["rejection"]["failed_month"], view["sla_status"]) == (
        "rejected", "2024-06", "no_payment")

    work_death = ok(report(api_client, members[2], death(work_related=True)))
    assert (work_death["benefit"], work_death["reclassified_from"]) == ("JKK", "JKM")


def test_a_late_accident_payment_owes_its_penalty_in_every_report_format(api_client, members):
    claim_id = ok(report(api_client, members[2], accident()))["claim_id"]
    assert claim_id == "JKK-2024-04-02"
    ok(step(api_client, claim_id, "assessment", {
        "assessed_on": "2024-04-15", "outcome": "temporary_incapacity",
        "medical_cost_idr": 2_000_000, "incapacity_months": 2}))
    receive_all(api_client, claim_id, "2024-04-15")  # due 7 working days later: 24 April
    view = ok(step(api_client, claim_id, "approval", {"approved_on": "2024-04-16"}))
    approved_at = api_client.get(REPORT).json()["position"]
    for component in ("medical", "temporary_incapacity"):
        view = ok(step(api_client, claim_id, "payouts", payout(
            component, 2_000_000, payee_name="Warga 3 Mokoagow", relation="self",
            paid_on="2024-04-29")))
    assert (view["sla_status"], view["days_late"], view["penalty_idr"]) == ("late", 5, 200_000)
    view = ok(step(api_client, claim_id, "payouts", payout(
        "late_penalty", 200_000, payee_name="Warga 3 Mokoagow", relation="self",
        paid_on="2024-04-30")))
    assert view["penalty_paid_idr"] == 200_000

    now = api_client.get(REPORT).json()
    (breach,) = now["breaches"]
    assert (breach["claim_id"], breach["sla_status"], breach["days_late"],
            breach["penalty_idr"]) == (claim_id, "late", 5, 200_000)
    assert now["counts"] == [{"benefit": "JKK", "status": "paid", "claims": 1,
                              "approved_idr": 4_000_000, "paid_idr": 4_000_000}]
    assert now["median_days_to_payment"] == 26
    then = api_client.get(REPORT, params={"position": approved_at}).json()
    assert [(c["status"], c["sla_status"], c["paid_idr"]) for c in then["claims"]] == [
        ("approved", "overdue", 0)]

    as_csv = api_client.get(REPORT, params={"format": "csv"})
    name = f"claims-{PROGRAM_ID}-{now['as_of']}-{now['position']}"
    assert as_csv.headers["content-disposition"] == f'attachment; filename="{name}.csv"'
    table = sections(as_csv.content)
    assert table["By benefit and status"] == [
        ["benefit", "status", "claims", "approved_idr", "paid_idr"],
        ["JKK", "paid", "1", "4000000", "4000000"]]
    assert table["Breaches"][1][:4] == [claim_id, "JKK", "paid", "late"]
    assert ["median_days_to_payment", "26"] in table["Summary"]
    book = openpyxl.load_workbook(io.BytesIO(api_client.get(
        REPORT, params={"format": "xlsx"}).content))
    assert book.sheetnames == ["Summary", "By benefit and status", "Breaches", "Claims"]
    claims = list(book["Claims"].values)
    assert claims[0][:4] == ("claim_id", "participant_id", "benefit", "status")
    assert claims[1][0] == claim_id and claims[1][7:9] == (4_000_000, 4_000_000)


# Bad input: a specific problem naming the field, and nothing written


def test_claims_for_people_who_had_no_cover_that_day_are_refused(api_client, members,
                                                                 log_head):
    waiting = submit(api_client, candidate(7))
    ok(report(api_client, members[0], death()))
    head = log_head()
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    stranger = "0b7c2f8e-6a51-5c1e-9d3f-2a4b6c8d0e1f"

    for participant, body, status, code, field in (
        (stranger, death(), 404, "participant-not-found", "participant_id"),
        ("siti", death(), 400, "invalid-input", "participant_id"),
        (waiting, death(), 409, "not-enrolled", "participant_id"),
        (members[1], accident(incident_date=tomorrow, reported_on=tomorrow), 400,
         "invalid-input", "incident_date"),
        (members[1], accident(incident_date="2024-02-20"), 400, "invalid-input",
         "incident_date"),
        (members[1], accident(reported_on="2024-04-01"), 400, "invalid-input", "reported_on"),
        (members[0], death(incident_date="2024-05-21"), 409, "claim-state-conflict",
         "claim_id"),
        (members[1], accident(claim_id="JKK/2024/04"), 400, "invalid-input", "claim_id"),
        (members[1], accident(benefit="JKN"), 400, "invalid-input", "benefit"),
        (members[1], accident(reporter_name="  "), 400, "invalid-input", "reporter_name"),
        (members[1], {k: v for k, v in accident().items() if k != "circumstances"}, 400,
         "invalid-input", "circumstances"),
    ):
        assert_problem(report(api_client, participant, body), status, code, field)
    assert_problem(api_client.post(f"/programs/kotamobagu-2099/participants/{members[1]}/claims",
                                   json=accident()), 404, "program-not-found", "program_id")
    assert log_head() == head


def test_steps_out_of_order_or_beyond_what_is_owed_are_refused(api_client, members, log_head):
    claim_id = ok(report(api_client, members[0], death()))["claim_id"]
    ok(step(api_client, claim_id, "heirs", {"name": "Hasan Mokodompit", "relation": "spouse",
                                            "evidence": "KK", "recorded_on": "2024-05-21"}))
    head = log_head()

    for command, body, status, code, field in (
        ("payouts", payout("funeral", 10_000_000), 409, "claim-state-conflict", "claim_id"),
        ("closure", {"closed_on": "2024-05-28"}, 409, "claim-state-conflict", "claim_id"),
        ("reopening", {"reopened_on": "2024-05-28", "reason": "x"}, 409,
         "claim-state-conflict", "claim_id"),
        ("documents", {"document": "passport", "received_on": "2024-05-21",
                       "reference": "X"}, 400, "invalid-input", "document"),
        ("heirs", {"name": "Rina", "relation": "cousin", "evidence": "KK",
                   "recorded_on": "2024-05-21"}, 400, "invalid-input", "relation"),
        ("rejection", {"rejected_on": "2024-05-22", "reason_code": "late",
                       "detail": "x"}, 400, "invalid-input", "reason_code"),
        ("assessment", {"assessed_on": "2024-05-19"}, 400, "invalid-input", "assessed_on"),
    ):
        assert_problem(step(api_client, claim_id, command, body), status, code, field)
    ok(step(api_client, claim_id, "assessment", {"assessed_on": "2024-05-22"}))
    receive_all(api_client, claim_id, "2024-05-23")
    ok(step(api_client, claim_id, "approval", {"approved_on": "2024-05-24"}))
    head = log_head()

    for body, status, code, field in (
        (payout("funeral", 10_000_001), 422, "payout-exceeds-approved", "amount_idr"),
        (payout("funeral", 10_000_000, payee_name="Rina Mokodompit"), 400, "invalid-input",
         "payee_name"),
        (payout("scholarship_child_1", 1_500_000), 400, "invalid-input", "component"),
        (payout("funeral", 0), 400, "invalid-input", "amount_idr"),
        (payout("funeral", "10.000.000"), 400, "invalid-input", "amount_idr"),
        (payout("funeral", 10_000_000, paid_on="2024-05-01"), 400, "invalid-input", "paid_on"),
    ):
        assert_problem(step(api_client, claim_id, "payouts", body), status, code, field)
    assert_problem(api_client.get(f"{CLAIMS}/JKK-1999-01-01"), 404, "claim-not-found",
                   "claim_id")
    assert_problem(step(api_client, "JKK-1999-01-01", "approval",
                        {"approved_on": "2024-05-24"}), 404, "claim-not-found", "claim_id")
    assert_problem(api_client.get("/programs/kotamobagu-2099/claims"), 404,
                   "program-not-found", "program_id")
    assert_problem(api_client.get(f"/programs/kotamobagu-2099/claims/{claim_id}"), 404,
                   "program-not-found", "program_id")
    assert log_head() == head


def test_bad_claims_report_queries_are_refused_naming_the_parameter(api_client, members):
    for params, field in (({"format": "pdf"}, "format"), ({"as_of": "2024-13"}, "as_of"),
                          ({"position": -1}, "position"),
                          ({"as_of": "2024-03", "position": 1}, "position")):
        assert_problem(api_client.get(REPORT, params=params), 400, "invalid-input", field)
    assert_problem(api_client.get("/programs/kotamobagu-2099/reports/claims"), 404,
                   "program-not-found", "program_id")


def test_the_openapi_document_lists_the_claim_routes(api_client):
    paths = api_client.get("/schema/openapi.json").json()["paths"]

    claim = "/programs/{program_id}/claims/{claim_id}"
    assert {
        "/programs/{program_id}/participants/{participant_id}/claims",
        "/programs/{program_id}/claims", claim, "/programs/{program_id}/reports/claims",
        *(f"{claim}/{step}" for step in ("documents", "heirs", "assessment", "approval",
                                         "rejection", "payouts", "closure", "reopening")),
    } <= set(paths)
