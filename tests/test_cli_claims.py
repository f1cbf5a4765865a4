"""``ledger claim`` and ``ledger report claims`` as a claims officer runs them: in-process, on
real files and a real database (both backends)."""

from datetime import date

import openpyxl
import pytest

from ledger.bill import GenerateBill, RecordPayment
from ledger.settings import Settings
from ledger.system import open_system
from tests.service.test_contributions import FINANCE, PROGRAM, enroll_people
from tests.test_cli_reports import csv_sections, ledger

__all__ = ["ledger"]  # test_cli_reports' fixture: imported to be used here, not unused

JKM_DOCUMENTS = ("kpj_card", "ktp_deceased", "ktp_heir", "death_certificate", "family_card",
                 "heir_certificate", "savings_book", "marriage_book")
JKK_DOCUMENTS = ("kpj_card", "accident_report_stage_1", "accident_report_stage_2",
                 "chronology_with_witnesses", "medical_receipts", "savings_book", "ktp")


@pytest.fixture
def members(ledger, db_url, tmp_path) -> list[str]:
    """Kotamobagu's three members enrolled from March 2024, March to May billed and paid."""
    with open_system(Settings(database_url=db_url, data_dir=tmp_path / "data")) as system:
        people = enroll_people(system)
        for period in ("2024-03", "2024-04", "2024-05"):
            bill = system.contributions.generate_bill(PROGRAM, GenerateBill(period=period),
                                                      FINANCE)
            system.contributions.record_payment(PROGRAM, period, RecordPayment(
                payment_ref=f"SP2D-{period}", paid_on=date.fromisoformat(f"{period}-10"),
                amount_idr=bill.billed_idr), FINANCE)
    return people


def on(claim_id: str, *args: str) -> tuple[str, ...]:
    return ("--program", PROGRAM, "--claim", claim_id, *args)


def test_a_death_is_reported_documented_assessed_approved_paid_and_closed(ledger, members):
    code, out, _ = ledger("claim", "report", "--program", PROGRAM, "--participant", members[0],
                          "--benefit", "JKM", "--incident-date", "2024-05-20", "--reported-on",
                          "2024-05-20", "--reporter-name", "Hasan Mokodompit",
                          "--reporter-relation", "spouse", "--circumstances", "illness at home")
    claim_id = f"death-{members[0]}"
    assert code == 0
    assert out.startswith(f"claim {claim_id} (JKM death on 2024-05-20, participant "
                          f"{members[0]}): reported\ndocuments missing: kpj_card, ktp_deceased")

    code, out, _ = ledger("claim", "heir", *on(claim_id, "--name", "Hasan Mokodompit",
                                               "--relation", "spouse", "--evidence", "KK",
                                               "--recorded-on", "2024-05-21"))
    assert code == 0 and "heirs: Hasan Mokodompit (spouse)" in out
    code, out, _ = ledger("claim", "assess", *on(claim_id, "--assessed-on", "2024-05-22"))
    assert code == 0 and "assessed 2024-05-22: eligible (benefits/2019-12)" in out
    assert "jkm_lump_sum  20,000,000" in out
    code, _, err = ledger("claim", "approve", *on(claim_id, "--approved-on", "2024-05-24"))
    assert code == 1 and "ledger: refused (missing-documents) [documents]" in err
    for document in JKM_DOCUMENTS:
        code, out, _ = ledger("claim", "document", *on(
            claim_id, "--document", document, "--received-on", "2024-05-23", "--reference",
            f"{document}-1"))
        assert code == 0, document
    assert "documents missing: none; complete 2024-05-23, due 2024-05-28" in out
    assert ledger("claim", "approve", *on(claim_id, "--approved-on", "2024-05-24"))[0] == 0
    code, _, err = ledger("claim", "pay", *on(
        claim_id, "--ref", "TRF-1", "--payee-name", "Hasan Mokodompit", "--relation", "spouse",
        "--component", "funeral", "--amount", "10000001", "--paid-on", "2024-05-27"))
    assert code == 1 and "(payout-exceeds-approved) [amount_idr]" in err
    for ref, component, amount in (("TRF-1", "jkm_lump_sum", "20000000"),
                                   ("TRF-2", "jkm_periodic", "12000000"),
                                   ("TRF-3", "funeral", "10000000")):
        code, out, _ = ledger("claim", "pay", *on(
            claim_id, "--ref", ref, "--payee-name", "Hasan Mokodompit", "--relation", "spouse",
            "--component", component, "--amount", amount, "--paid-on", "2024-05-27"))
        assert code == 0
    assert "approved Rp42.000.000, paid Rp42.000.000" in out
    code, out, _ = ledger("claim", "close", *on(claim_id, "--closed-on", "2024-05-28"))
    assert code == 0 and "): closed\n" in out and out.rstrip().endswith("service level on_time")

    code, out, _ = ledger("claim", "show", *on(claim_id))
    assert code == 0 and out.startswith(f"Claim {claim_id} (JKM, participant {members[0]})")
    stages = out.split("\nStages\n")[1]
    assert [line.split()[0] for line in stages.splitlines()[2:]] == [
        "reported", "heir_recorded", "assessed", *["document_received"] * 8, "approved",
        *["payout_recorded"] * 3, "closed"]


def test_a_late_accident_payment_shows_in_the_claims_report_files(ledger, members, tmp_path):
    args = ("claim", "report", "--program", PROGRAM, "--participant", members[2], "--benefit",
            "JKK", "--incident-date", "2024-04-02", "--reported-on", "2024-04-03",
            "--reporter-name", "Rahmat Damopolii", "--reporter-relation", "self",
            "--circumstances", "fell from scaffolding", "--claim-id", "JKK-0001")
    assert ledger(*args)[0] == 0
    code, out, _ = ledger("claim", "assess", *on(
        "JKK-0001", "--assessed-on", "2024-04-15", "--outcome", "temporary_incapacity",
        "--medical-cost", "2000000", "--incapacity-months", "2", "--transport", "land:6000000"))
    assert code == 0 and "transport_land         5,000,000" in out
    for document in JKK_DOCUMENTS:
        ledger("claim", "document", *on("JKK-0001", "--document", document, "--received-on",
                                        "2024-04-15", "--reference", "1"))
    assert ledger("claim", "approve", *on("JKK-0001", "--approved-on", "2024-04-16"))[0] == 0
    _, out, _ = ledger("report", "claims", "--program", PROGRAM)
    approved_at = out.split("log position ")[1].split(":")[0].replace(",", "")
    for component, amount in (("medical", "2000000"), ("transport_land", "5000000"),
                              ("temporary_incapacity", "2000000")):
        code, out, _ = ledger("claim", "pay", *on(
            "JKK-0001", "--ref", f"TRF-{component}", "--payee-name", "Rahmat Damopolii",
            "--relation", "self", "--component", component, "--amount", amount, "--paid-on",
            "2024-04-29"))
        assert code == 0
    assert out.rstrip().endswith("late penalty Rp450.000; service level late, 5 day(s) late")

    csv_path, xlsx_path = tmp_path / "claims.csv", tmp_path / "claims.xlsx"
    code, out, _ = ledger("report", "claims", "--program", PROGRAM, "--csv", str(csv_path),
                          "--xlsx", str(xlsx_path))
    assert code == 0 and ": 1 claim(s), 1 service-level breach(es)" in out.splitlines()[0]
    table = csv_sections(csv_path)
    assert table["By benefit and status"][1] == ["JKK", "paid", "1", "9000000", "9000000"]
    assert table["Breaches"][1][:7] == ["JKK-0001", "JKK", "paid", "late", "2024-04-24",
                                        "2024-04-29", "5"]
    assert table["Breaches"][1][-1] == "450000"
    book = openpyxl.load_workbook(xlsx_path)
    summary = dict(list(book["Summary"].values)[1:])
    assert (summary["claims"], summary["paid_idr"], summary["median_days_to_payment"],
            summary["penalty_idr"]) == (1, 9_000_000, 26, 450_000)
    then = tmp_path / "then.csv"
    code, out, _ = ledger("report", "claims", "--program", PROGRAM, "--position", approved_at,
                          "--csv", str(then))
    assert code == 0
    assert csv_sections(then)["Claims"][1][3:4] == ["approved"]


def test_claim_refusals_are_one_line_and_exit_1(ledger, members):
    for args, problem in (
        (("claim", "report", "--program", PROGRAM, "--participant", members[1], "--benefit",
          "JKK", "--incident-date", "2024-02-20", "--reported-on", "2024-02-21",
          "--reporter-name", "Budi", "--reporter-relation", "self", "--circumstances", "x"),
         "(invalid-input) [incident_date]"),
        (("claim", "assess", *on("JKK-1999-01-01", "--assessed-on", "2024-05-01")),
         "(claim-not-found) [claim_id]"),
        (("claim", "show", "--program", "kotamobagu-2099", "--claim", "JKK-1"),
         "(program-not-found) [program_id]"),
        (("report", "claims", "--program", "kotamobagu-2099"), "(program-not-found)"),
    ):
        code, _, err = ledger(*args)
        assert code == 1, args
        assert err.strip().splitlines()[-1].startswith(f"ledger: refused {problem}"), err

    for args in (("claim", "assess", *on("JKK-1", "--assessed-on", "2024-05-01",
                                          "--transport", "boat:100")),
                 ("claim", "heir", *on("JKK-1", "--name", "R", "--relation", "cousin",
                                       "--evidence", "KK", "--recorded-on", "2024-05-01")),
                 ("claim", "show", *on("JKK-1", "--as-of", "2024-03", "--position", "3"))):
        with pytest.raises(SystemExit) as usage:
            ledger(*args)
        assert usage.value.code == 2
