"""Programs over HTTP: open an agreement, read where it stands, revise it."""

from tests.api.scenario import PROGRAM_ID, assert_problem, kotamobagu, open_program


def test_an_opened_program_reads_back_with_its_quota_and_budget(api_client):
    opened = open_program(api_client)

    summary = api_client.get(f"/programs/{PROGRAM_ID}").json()

    assert opened == summary
    assert summary["region_code"] == "7174"
    assert summary["quota_total"] == 9000 and summary["quota_remaining"] == 9000
    assert summary["budget"] == [{"funding_source": "APBD", "amount_idr": 1_512_000_000}]
    assert summary["budget_total_idr"] == 1_512_000_000
    assert summary["cohorts"][0]["cohort"] == "informal"
    assert summary["cohorts"][0]["quota"] == 9000
    assert summary["totals"]["submitted"] == 0
    assert summary["coverage_start"] == "2024-03-01"


def test_an_apbd_perubahan_revises_quota_and_budget(api_client):
    open_program(api_client)

    quota = api_client.post(f"/programs/{PROGRAM_ID}/quota-revisions", json={
        "quota_total": 10_452, "cohort_quotas": {"informal": 7000, "p3ke": 3452},
        "reason": "APBD-Perubahan 2024", "revision_ref": "Perda 5/2024"})
    budget = api_client.post(f"/programs/{PROGRAM_ID}/budget-revisions", json={
        "budget_idr": {"APBD": 1_800_000_000, "CSR": 300_000_000},
        "reason": "APBD-Perubahan 2024", "revision_ref": "Perda 5/2024"})

    assert quota.status_code == 201 and budget.status_code == 201
    summary = api_client.get(f"/programs/{PROGRAM_ID}").json()
    assert summary["quota_total"] == 10_452
    assert {c["cohort"]: c["quota"] for c in summary["cohorts"]} == {"informal": 7000,
                                                                    "p3ke": 3452}
    assert summary["budget_total_idr"] == 2_100_000_000
    assert summary["revised_at"] is not None


def test_a_backlog_of_a_new_program_is_empty(api_client):
    open_program(api_client)

    assert api_client.get(f"/programs/{PROGRAM_ID}/backlog").json() == {"by_reason": [],
                                                                     "by_village": []}


def test_an_unknown_program_is_not_found(api_client):
    for path in ("", "/backlog", "/participants"):
        assert_problem(api_client.get(f"/programs/gorontalo-2024{path}"), 404, "program-not-found",
                       "program_id")
    revision = api_client.post("/programs/gorontalo-2024/quota-revisions", json={
        "quota_total": 7000, "reason": "APBD-P", "revision_ref": "Perda 1/2024"})
    assert_problem(revision, 404, "program-not-found", "program_id")


def test_the_same_program_cannot_be_opened_twice(api_client):
    open_program(api_client)

    assert_problem(api_client.post("/programs", json=kotamobagu()), 409, "program-already-open",
                   "program_id")


def test_a_program_is_refused_for_what_is_wrong_with_it(api_client):
    assert_problem(api_client.post("/programs", json=kotamobagu(region_code="71")), 400,
                   "invalid-input", "region_code")
    assert_problem(api_client.post("/programs", json=kotamobagu(quota_total="9.000")), 400,
                   "invalid-input", "quota_total")
    assert_problem(api_client.post("/programs", json=kotamobagu(budget_idr={"APBD": 1.5})), 400,
                   "invalid-input", "budget_idr")
    assert_problem(api_client.post("/programs", json=kotamobagu(coverage_end="2024-02-30")), 400,
                   "invalid-input", "coverage_end")
    body = kotamobagu()
    del body["agreement_ref"]
    assert_problem(api_client.post("/programs", json=body), 400, "invalid-input", "agreement_ref")


def test_a_body_that_is_not_json_is_a_bad_request(api_client):
    response = api_client.post("/programs", content=b'{"program_id": "kotamobagu-2024",',
                           headers={"content-type": "application/json"})

    assert_problem(response, 400, "bad-request")
