"""Bills, payments, reversals, refunds, lapses and coverage over HTTP, on both databases.

Every refusal is a specific problem naming the field to blame, and leaves the
log exactly as it was.
"""

import csv
import io
from collections.abc import Callable, Iterator

import httpx
import pytest

from ledger.storage import open_storage
from ledger.store import EventStore
from tests.api.scenario import (
    PHASE_1,
    PROGRAM_ID,
    SITI_NIK_MASKED,
    a_nik,
    assert_problem,
    candidate,
    matched_by_hand,
    open_program,
    participant_url,
    submit,
)
from tests.keys import KEYRING

BILLS = f"/programs/{PROGRAM_ID}/bills"
TARIFF = 16_800  # JKK Rp10,000 + JKM Rp6,800: APBD-paid workers get no discount
BILL_COLUMNS = ["kpj", "nik", "period", "amount_idr"]


@pytest.fixture
def kotamobagu(api_client):
    open_program(api_client)
    return api_client


@pytest.fixture
def members(kotamobagu) -> list[str]:
    return enrolled_members(kotamobagu)


def enrolled_members(client: httpx.Client) -> list[str]:
    """Three women of Gogagoman, matched and enrolled from March 2024 (Siti is the first)."""
    ids = []
    for serial in (1, 2, 3):
        participant_id = submit(client, candidate(serial))
        matched_by_hand(client, participant_id)
        enrolled = client.post(participant_url(participant_id, "enrollment"),
                               json={**PHASE_1, "kpj": f"2401234567{serial}"})
        assert enrolled.status_code == 201, enrolled.text
        ids.append(participant_id)
    return ids


@pytest.fixture
def log_head(api_server: str, db_url: str) -> Iterator[Callable[[], int]]:
    """The position of the log's last event, read from the server's database."""
    storage = open_storage(db_url, apply_migrations=False, pool_size=1)
    try:
        yield EventStore(storage, KEYRING).head
    finally:
        storage.close()


def a_bill_file(*rows: tuple[str, str, str, str]) -> tuple[str, bytes, str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(BILL_COLUMNS)
    writer.writerows(rows)
    return "tagihan-bpjstk-2024-03.csv", out.getvalue().encode(), "text/csv"


def import_form(**changes: str) -> dict[str, str]:
    return {"bill_id": "INV-7174-2024-03", "document_ref": "Surat BPJS TK 123/2024",
            **changes}


def pay(client, bill_id: str, amount_idr: int, ref: str = "SP2D-0312/2024", **changes):
    return client.post(f"{BILLS}/{bill_id}/payments", json={
        "payment_ref": ref, "paid_on": "2024-03-10", "amount_idr": amount_idr, **changes})


def test_a_month_is_billed_paid_in_part_and_read_line_by_line(kotamobagu, members):
    generated = kotamobagu.post(BILLS, json={"period": "2024-03"})

    assert generated.status_code == 201, generated.text
    bill = generated.json()
    assert (bill["bill_id"], bill["source"], bill["funding_source"], bill["lines"]) == (
        "2024-03", "generated", "APBD", 3)
    assert (bill["billed_idr"], bill["paid_idr"], bill["outstanding_idr"]) == (
        3 * TARIFF, 0, 3 * TARIFF)

    paid = pay(kotamobagu, "2024-03", 2 * TARIFF)
    assert paid.status_code == 201, paid.text
    assert (paid.json()["paid_idr"], paid.json()["outstanding_idr"]) == (2 * TARIFF, TARIFF)

    first = kotamobagu.get(f"{BILLS}/2024-03", params={"limit": 2}).json()
    assert [(line["line_no"], line["payment_ref"]) for line in first["page"]] == [
        (1, "SP2D-0312/2024"), (2, "SP2D-0312/2024")]
    assert first["next_offset"] == 2
    assert all(line["nik"].count("*") == 6 for line in first["page"])
    rest = kotamobagu.get(f"{BILLS}/2024-03", params={"limit": 2, "offset": 2}).json()
    assert [(line["line_no"], line["payment_ref"]) for line in rest["page"]] == [(3, None)]
    assert rest["next_offset"] is None
    listed = kotamobagu.get(BILLS).json()
    assert [(b["bill_id"], b["paid_idr"]) for b in listed] == [("2024-03", 2 * TARIFF)]


def test_an_advance_bill_is_reversed_and_refunded_by_new_events(kotamobagu, members):
    siti_id = members[0]
    advance = kotamobagu.post(BILLS, json={"period": "2024-03", "months": 3}).json()
    assert (advance["bill_id"], advance["billed_idr"]) == ("2024-03+3", 9 * TARIFF)
    pay(kotamobagu, "2024-03+3", 9 * TARIFF, ref="SP2D-Q1")
    died = kotamobagu.post(participant_url(siti_id, "termination"), json={
        "reason": "died", "effective_date": "2024-03-28"})
    assert died.status_code == 201, died.text

    refunded = kotamobagu.post(f"{BILLS}/2024-03+3/refunds", json={
        "refund_ref": "BPJS-REF-1", "payment_ref": "SP2D-Q1", "refunded_on": "2024-04-15",
        "reason": "died 28 March", "months": [{"participant_id": siti_id, "period": p}
                                              for p in ("2024-04", "2024-05")]})
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["refunded_idr"] == 2 * TARIFF

    other = kotamobagu.post(BILLS, json={"period": "2024-06"}).json()
    pay(kotamobagu, "2024-06", other["billed_idr"], ref="SP2D-06")
    reversed_ = kotamobagu.post(f"{BILLS}/2024-06/reversals", json={
        "payment_ref": "SP2D-06", "reversed_on": "2024-06-07", "reason": "SP2D bounced"})
    assert reversed_.status_code == 201, reversed_.text
    assert reversed_.json()["outstanding_idr"] == other["billed_idr"]


def test_a_bpjs_bill_file_is_imported_with_its_unexpected_lines_flagged(kotamobagu, members):
    upload = a_bill_file(("24012345671", "", "2024-03", str(TARIFF)),
                         ("", a_nik(2), "2024-03", "20000"),
                         ("", a_nik(9), "2024-03", str(TARIFF)))

    response = kotamobagu.post(f"{BILLS}/import", files={"file": upload}, data=import_form())

    assert response.status_code == 201, response.text
    imported = response.json()
    assert (imported["bill"]["source"], imported["bill"]["lines"]) == ("imported", 3)
    assert (imported["bill"]["billed_idr"], imported["bill"]["not_tariff_idr"]) == (
        2 * TARIFF + 20_000, 20_000)
    assert imported["flagged"] == [{"line": 2, "row": 3, "flags": ["amount_not_tariff"]},
                                   {"line": 3, "row": 4, "flags": ["unknown_participant"]}]
    lines = kotamobagu.get(f"{BILLS}/INV-7174-2024-03").json()["page"]
    assert lines[0]["nik"] == SITI_NIK_MASKED  # found by her KPJ


def test_lapses_are_recorded_once_and_coverage_shows_month_by_month(kotamobagu, members):
    siti_id = members[0]
    for period in ("2024-03", "2024-04", "2024-05", "2024-06"):
        kotamobagu.post(BILLS, json={"period": period})
    pay(kotamobagu, "2024-03", 3 * TARIFF)  # March, on time

    on_time = kotamobagu.get(participant_url(siti_id, "coverage"),
                             params={"as_of": "2024-04-20"}).json()
    assert [(m["period"], m["status"]) for m in on_time["months"]] == [
        ("2024-03", "paid"), ("2024-04", "arrears")]
    assert on_time["months"][0]["covered"] and on_time["last_period"] == "2024-12"

    lapsed = kotamobagu.post(f"/programs/{PROGRAM_ID}/lapses", json={"as_of": "2024-08-01"})
    assert lapsed.status_code == 200, lapsed.text
    assert {(p["participant_id"], p["lapsed_from"]) for p in lapsed.json()["lapsed"]} == {
        (member, "2024-04") for member in members}
    again = kotamobagu.post(f"/programs/{PROGRAM_ID}/lapses", json={"as_of": "2024-08-01"})
    assert again.json()["lapsed"] == []
    later = kotamobagu.get(participant_url(siti_id, "coverage"),
                           params={"as_of": "2024-08-01"}).json()
    assert later["lapsed_from"] == "2024-04"
    assert {m["status"] for m in later["months"][1:]} == {"lapsed"}


# Bad input: a specific problem naming the field, and nothing written


def test_amounts_that_are_not_a_positive_whole_rupiah_are_refused(kotamobagu, members,
                                                                  log_head):
    kotamobagu.post(BILLS, json={"period": "2024-03"})
    head = log_head()

    assert_problem(pay(kotamobagu, "2024-03", 0), 400, "invalid-input", "amount_idr")
    assert_problem(pay(kotamobagu, "2024-03", -TARIFF), 400, "invalid-input", "amount_idr")
    assert_problem(pay(kotamobagu, "2024-03", "16.800"), 400, "invalid-input", "amount_idr")
    assert_problem(pay(kotamobagu, "2024-03", TARIFF + 1), 400, "invalid-input",
                   "amount_idr")  # a payment settles whole lines
    assert_problem(pay(kotamobagu, "2024-03", 4 * TARIFF), 422, "payment-exceeds-bill",
                   "amount_idr")
    assert_problem(pay(kotamobagu, "2024-03", TARIFF, paid_on="2099-01-01"), 400,
                   "invalid-input", "paid_on")
    missing = kotamobagu.post(f"{BILLS}/2024-03/payments", json={"payment_ref": "SP2D-1",
                                                                  "amount_idr": TARIFF})
    assert_problem(missing, 400, "invalid-input", "paid_on")
    assert log_head() == head


def test_periods_outside_the_window_and_unknown_things_are_refused(kotamobagu, members,
                                                                   log_head):
    head = log_head()

    assert_problem(kotamobagu.post(BILLS, json={"period": "2025-01"}), 422,
                   "outside-coverage-window", "period")
    assert_problem(kotamobagu.post(BILLS, json={"period": "2024-11", "months": 3}), 422,
                   "outside-coverage-window", "period")
    assert_problem(kotamobagu.post(BILLS, json={"period": "2024-3"}), 400, "invalid-input",
                   "period")
    assert_problem(kotamobagu.post(BILLS, json={"period": "2024-03", "months": 2}), 400,
                   "invalid-input", "months")
    assert_problem(kotamobagu.post(BILLS, json={"period": "2024-03", "bill_id": "INV/03"}),
                   400, "invalid-input", "bill_id")
    assert_problem(kotamobagu.post(BILLS, json={"period": "2024-03",
                                                "funding_source": "PAD"}),
                   400, "invalid-input", "funding_source")
    assert_problem(pay(kotamobagu, "2024-09", TARIFF), 404, "bill-not-found", "bill_id")
    assert_problem(kotamobagu.get(f"{BILLS}/2024-09"), 404, "bill-not-found", "bill_id")
    assert_problem(kotamobagu.get("/programs/kotamobagu-2099/bills"), 404, "program-not-found",
                   "program_id")
    assert_problem(kotamobagu.get(f"{BILLS}/2024-09", params={"limit": 0}), 400,
                   "invalid-input", "limit")
    unknown = participant_url("0b7c2f8e-6a51-5c1e-9d3f-2a4b6c8d0e1f", "coverage")
    assert_problem(kotamobagu.get(unknown), 404, "participant-not-found", "participant_id")
    assert_problem(kotamobagu.get(participant_url("siti", "coverage")), 400, "invalid-input",
                   "participant_id")
    assert_problem(kotamobagu.post(f"/programs/{PROGRAM_ID}/lapses",
                                   json={"as_of": "2099-01-01"}), 400, "invalid-input", "as_of")
    assert log_head() == head


def test_a_participant_never_enrolled_has_no_coverage(kotamobagu):
    waiting = submit(kotamobagu, candidate(7))

    assert_problem(kotamobagu.get(participant_url(waiting, "coverage")), 409, "not-enrolled",
                   "participant_id")


def test_a_payment_reference_is_never_applied_twice(kotamobagu, members, log_head):
    kotamobagu.post(BILLS, json={"period": "2024-03"})
    kotamobagu.post(BILLS, json={"period": "2024-04"})
    pay(kotamobagu, "2024-03", TARIFF)
    head = log_head()

    retried = pay(kotamobagu, "2024-03", TARIFF)
    assert (retried.status_code, retried.json()["paid_idr"]) == (201, TARIFF)
    assert_problem(pay(kotamobagu, "2024-04", TARIFF), 409, "reference-already-used",
                   "payment_ref")
    assert_problem(pay(kotamobagu, "2024-03", 2 * TARIFF), 409, "reference-already-used",
                   "payment_ref")
    assert_problem(kotamobagu.post(BILLS, json={"period": "2024-03"}), 409,
                   "bill-already-issued", "bill_id")
    assert log_head() == head


def test_reversals_and_refunds_of_what_is_not_there_are_refused(kotamobagu, members, log_head):
    kotamobagu.post(BILLS, json={"period": "2024-03"})
    pay(kotamobagu, "2024-03", 3 * TARIFF)
    reversal = {"payment_ref": "SP2D-0312/2024", "reversed_on": "2024-03-12",
                "reason": "recorded twice by mistake"}
    assert kotamobagu.post(f"{BILLS}/2024-03/reversals", json=reversal).status_code == 201
    head = log_head()

    assert_problem(kotamobagu.post(f"{BILLS}/2024-03/reversals", json=reversal), 409,
                   "payment-already-reversed", "payment_ref")
    assert_problem(kotamobagu.post(f"{BILLS}/2024-03/reversals", json={
        **reversal, "payment_ref": "SP2D-X"}), 404, "payment-not-found", "payment_ref")
    pay(kotamobagu, "2024-03", TARIFF, ref="SP2D-0313")  # settles the first line only
    head = log_head()
    last_line = kotamobagu.get(f"{BILLS}/2024-03").json()["page"][-1]
    refund = {"refund_ref": "BPJS-REF-9", "payment_ref": "SP2D-0313",
              "refunded_on": "2024-04-01", "reason": "not owed",
              "months": [{"participant_id": last_line["participant_id"], "period": "2024-03"}]}
    assert_problem(kotamobagu.post(f"{BILLS}/2024-03/refunds", json=refund), 422,
                   "refund-not-due", "months")
    assert log_head() == head


def test_a_bill_file_with_duplicate_lines_is_refused_whole(kotamobagu, members, log_head):
    head = log_head()
    twice = a_bill_file(("", a_nik(1), "2024-03", str(TARIFF)),
                        ("", a_nik(2), "2024-03", str(TARIFF)),
                        ("", a_nik(1), "2024-03", str(TARIFF)))

    problem = assert_problem(kotamobagu.post(f"{BILLS}/import", files={"file": twice},
                                             data=import_form()), 400, "invalid-input", "lines")

    assert "line 4 repeats line 2" in problem["detail"]
    assert log_head() == head


@pytest.mark.parametrize(("row", "column"), [
    (("", "", "2024-03", "16800"), "nik"),
    (("", a_nik(1), "2024-3", "16800"), "period"),
    (("", a_nik(1), "2024-03", "16.800"), "amount_idr"),
    (("", a_nik(1), "2024-03", "-16800"), "amount_idr"),
    (("", a_nik(1), "2024-03", "0"), "amount_idr"),
    (("24O1234567l", "", "2024-03", "16800"), "kpj"),
    (("", "7174 01 45", "2024-03", "16800"), "nik"),
])
def test_a_malformed_bill_file_is_refused_naming_the_row_and_column(kotamobagu, members,
                                                                     log_head, row, column):
    head = log_head()
    upload = a_bill_file(("", a_nik(2), "2024-03", str(TARIFF)), row)

    problem = assert_problem(kotamobagu.post(f"{BILLS}/import", files={"file": upload},
                                             data=import_form()), 400, "import-rejected",
                             "file")

    assert problem["detail"].startswith(f"row 3, column {column}: ")
    assert log_head() == head


def test_a_bill_file_that_is_not_a_bill_is_refused(kotamobagu, members, log_head):
    head = log_head()
    no_amount = ("tagihan.csv", b"kpj,nik,period\n24012345671,,2024-03\n", "text/csv")
    outside = a_bill_file(("", a_nik(1), "2025-01", str(TARIFF)))

    problem = assert_problem(kotamobagu.post(f"{BILLS}/import", files={"file": no_amount},
                                             data=import_form()), 400, "import-rejected",
                             "file")
    assert "amount_idr" in problem["detail"]
    assert_problem(kotamobagu.post(f"{BILLS}/import", files={"file": outside},
                                   data=import_form()), 422, "outside-coverage-window",
                   "period")
    assert_problem(kotamobagu.post(f"{BILLS}/import", files={"file": outside},
                                   data=import_form(stated_total_idr="banyak")), 400,
                   "invalid-input", "stated_total_idr")
    misnamed = {"tagihan": a_bill_file(("", a_nik(1), "2024-03", str(TARIFF)))}
    assert_problem(kotamobagu.post(f"{BILLS}/import", files=misnamed, data=import_form()),
                   400, "invalid-input", "file")
    assert log_head() == head
