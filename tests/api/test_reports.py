"""Budget and findings reports over HTTP: now, as they stood, as JSON, CSV and XLSX."""

import csv
import io
from datetime import UTC, datetime

import httpx
import openpyxl
import pytest

from ledger import periods
from tests.api.scenario import PROGRAM_ID, SITI_NIK, assert_problem, open_program
from tests.api.test_bills import BILLS, TARIFF, enrolled_members, pay

REPORTS = f"/programs/{PROGRAM_ID}/reports"


@pytest.fixture
def march_paid(api_client) -> httpx.Client:
    """Three members billed and paid for March 2024, on time."""
    open_program(api_client)
    enrolled_members(api_client)
    api_client.post(BILLS, json={"period": "2024-03"})
    assert pay(api_client, "2024-03", 3 * TARIFF).status_code == 201
    return api_client


def sections(content: bytes) -> dict[str, list[list[str]]]:
    """A report CSV's sections by title: each a header row and the rows under it."""
    found, title = {}, None
    for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))):
        if not row:
            title = None
        elif title is None:
            title = row[0]
            found[title] = []
        else:
            found[title].append(row)
    return found


def test_the_budget_now_and_as_it_stood_at_an_earlier_position(march_paid):
    then = march_paid.get(f"{REPORTS}/budget").json()
    march_paid.post(BILLS, json={"period": "2024-04"})

    now = march_paid.get(f"{REPORTS}/budget").json()
    earlier = march_paid.get(f"{REPORTS}/budget", params={"position": then["position"]}).json()

    today = datetime.now(UTC).date()
    assert (now["as_of"], now["position"]) == (today.isoformat(), then["position"] + 1)
    budget = now["budget"]
    assert (budget["billed_idr"], budget["paid_idr"], budget["billed_unpaid_idr"]) == (
        6 * TARIFF, 3 * TARIFF, 3 * TARIFF)
    assert [(m["period"], m["billed_idr"], m["paid_idr"]) for m in budget["months"]] == [
        ("2024-03", 3 * TARIFF, 3 * TARIFF), ("2024-04", 3 * TARIFF, 0)]
    assert earlier["position"] == then["position"]
    assert (earlier["budget"]["billed_idr"], earlier["budget"]["billed_unpaid_idr"]) == (
        3 * TARIFF, 0)


def test_as_of_a_month_is_what_the_ledger_had_recorded_by_its_end(march_paid):
    this_month = periods.of(datetime.now(UTC).date())

    now = march_paid.get(f"{REPORTS}/budget", params={"as_of": this_month}).json()

    assert now["as_of"] == periods.last_day(this_month).isoformat()
    assert now["budget"]["paid_idr"] == 3 * TARIFF
    # Everything was recorded today: at the end of March 2024 the ledger held no program yet.
    assert_problem(march_paid.get(f"{REPORTS}/budget", params={"as_of": "2024-03"}), 404,
                   "program-not-found", "program_id")


def test_the_budget_downloads_as_csv_and_xlsx_with_whole_rupiah_numbers(march_paid):
    as_csv = march_paid.get(f"{REPORTS}/budget", params={"format": "csv"})
    as_xlsx = march_paid.get(f"{REPORTS}/budget", params={"format": "xlsx"})

    position = march_paid.get(f"{REPORTS}/budget").json()["position"]
    name = f"budget-{PROGRAM_ID}-{datetime.now(UTC).date().isoformat()}-{position}"
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["content-disposition"] == f'attachment; filename="{name}.csv"'
    table = sections(as_csv.content)
    assert table["By month"] == [["period", "billed_idr", "paid_idr", "refunded_idr"],
                                 ["2024-03", "50400", "50400", "0"]]
    assert ["budget_idr", "1512000000"] in table["Summary"]

    assert as_xlsx.headers["content-disposition"] == f'attachment; filename="{name}.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(as_xlsx.content))
    assert book.sheetnames == ["Summary", "By funding source", "By month", "Quota by cohort"]
    assert list(book["By month"].values) == [("period", "billed_idr", "paid_idr",
                                              "refunded_idr"), ("2024-03", 50_400, 50_400, 0)]
    funding = list(book["By funding source"].values)
    assert funding[1][:4] == ("APBD", 1_512_000_000, 50_400, 50_400)


def test_findings_name_the_unpaid_months_with_niks_masked_in_every_format(march_paid):
    march_paid.post(BILLS, json={"period": "2024-04"})

    as_csv = march_paid.get(f"{REPORTS}/findings", params={"format": "csv"})
    as_xlsx = march_paid.get(f"{REPORTS}/findings", params={"format": "xlsx"})

    found = march_paid.get(f"{REPORTS}/findings").json()["findings"]
    assert {f["kind"] for f in found} == {"unpaid_active"}
    assert len(found) == 3 and all(f["periods"][0] == "2024-04" for f in found)
    assert all(f["nik_masked"].count("*") == 6 for f in found)
    for body in (as_csv.content, as_xlsx.content):
        assert SITI_NIK.encode() not in body
    table = sections(as_csv.content)
    assert table["Findings by kind"][1][:2] == ["unpaid_active", "3"]
    book = openpyxl.load_workbook(io.BytesIO(as_xlsx.content))
    rows = list(book["Findings"].values)
    assert rows[0] == ("kind", "participant_id", "nik_masked", "bill_id", "periods", "amount_idr",
                       "detail")
    assert all(isinstance(row[5], int) and row[5] > 0 for row in rows[1:])


@pytest.mark.parametrize("report", ["budget", "findings"])
def test_bad_report_queries_are_refused_naming_the_parameter(march_paid, report):
    url = f"{REPORTS}/{report}"
    head = march_paid.get(f"{REPORTS}/budget").json()["position"]
    next_month = periods.shift(periods.of(datetime.now(UTC).date()), 1)

    for params, field in (({"format": "pdf"}, "format"), ({"as_of": "2024-13"}, "as_of"),
                          ({"as_of": "2024-03-31"}, "as_of"), ({"as_of": next_month}, "as_of"),
                          ({"position": -1}, "position"), ({"position": "tiga"}, "position"),
                          ({"position": head + 1}, "position"),
                          ({"as_of": "2024-03", "position": 1}, "position")):
        assert_problem(march_paid.get(url, params=params), 400, "invalid-input", field)
    assert_problem(march_paid.get(f"/programs/kotamobagu-2099/reports/{report}"), 404,
                   "program-not-found", "program_id")
    assert_problem(march_paid.get(f"/programs/kotamobagu-2099/reports/{report}",
                                  params={"format": "xlsx"}), 404, "program-not-found",
                   "program_id")


def test_the_openapi_document_lists_the_contribution_routes(api_client):
    paths = api_client.get("/schema/openapi.json").json()["paths"]

    assert {
        "/programs/{program_id}/bills", "/programs/{program_id}/bills/{bill_id}",
        "/programs/{program_id}/bills/import", "/programs/{program_id}/bills/{bill_id}/payments",
        "/programs/{program_id}/bills/{bill_id}/reversals",
        "/programs/{program_id}/bills/{bill_id}/refunds", "/programs/{program_id}/lapses",
        "/programs/{program_id}/participants/{participant_id}/coverage",
        "/programs/{program_id}/reports/budget", "/programs/{program_id}/reports/findings",
    } <= set(paths)
    formats = next(p for p in paths["/programs/{program_id}/reports/budget"]["get"]["parameters"]
                   if p["name"] == "format")
    assert formats["schema"]["enum"] == ["json", "csv", "xlsx"]
