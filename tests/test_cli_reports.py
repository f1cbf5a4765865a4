"""``ledger bill``, ``ledger lapses`` and ``ledger report`` as a finance officer runs them:
in-process, on real files and a real database (both backends)."""

import csv
import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from structlog.testing import capture_logs

from ledger import cli
from ledger.participant import Enroll
from ledger.settings import Settings
from ledger.system import open_system
from tests.service.test_contributions import (
    CLERK,
    OPEN_KOTAMOBAGU,
    PEOPLE,
    PROGRAM,
    registry_knowing,
)

TARIFF = 16_800


@pytest.fixture
def ledger(db_url, tmp_path, monkeypatch, capsys):
    """Run ``ledger ARGS...``: its exit code, stdout and stderr."""
    monkeypatch.setenv("LEDGER_DATABASE_URL", db_url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path / "data"))

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def members(ledger, db_url, tmp_path) -> list[str]:
    """Kotamobagu's program with three matched people enrolled from March 2024."""
    with open_system(Settings(database_url=db_url, data_dir=tmp_path / "data")) as system:
        system.ledger.open_program(OPEN_KOTAMOBAGU, CLERK)
        submitted = system.ledger.submit_batch(PROGRAM, PEOPLE, CLERK,
                                               registry=registry_knowing(*PEOPLE))
        system.ledger.enroll_batch(PROGRAM, [
            (r.participant_id, Enroll(kpj=f"2400000000{i}", coverage_start=date(2024, 3, 1),
                                      batch="tahap-1")) for i, r in enumerate(submitted)], CLERK)
    return [str(r.participant_id) for r in submitted]


def csv_sections(path: Path) -> dict[str, list[list[str]]]:
    found, title = {}, None
    for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
        if not row:
            title = None
        elif title is None:
            title = row[0]
            found[title] = []
        else:
            found[title].append(row)
    return found


def test_a_month_is_billed_paid_and_reported_to_csv_and_xlsx(ledger, members, tmp_path):
    code, out, _ = ledger("bill", "generate", "--program", PROGRAM, "--period", "2024-03")
    assert code == 0
    assert out.startswith("bill 2024-03 (generated, APBD, 1 month(s) from 2024-03): 3 lines")

    code, out, _ = ledger("bill", "pay", "--program", PROGRAM, "--bill", "2024-03", "--ref",
                          "00123/SP2D/LS/2024", "--paid-on", "2024-03-10", "--amount",
                          str(3 * TARIFF))
    assert code == 0 and out.rstrip().endswith("outstanding Rp0")

    csv_path, xlsx_path = tmp_path / "budget.csv", tmp_path / "budget.xlsx"
    code, out, _ = ledger("report", "budget", "--program", PROGRAM, "--csv", str(csv_path),
                          "--xlsx", str(xlsx_path))
    assert code == 0
    assert out.startswith(f"Budget of {PROGRAM} (Kota Kotamobagu) as of ")
    assert "By month\n  period   billed_idr  paid_idr  refunded_idr" in out
    assert f"wrote {csv_path}" in out and f"wrote {xlsx_path}" in out
    assert csv_sections(csv_path)["By month"] == [
        ["period", "billed_idr", "paid_idr", "refunded_idr"], ["2024-03", "50400", "50400", "0"]]
    book = openpyxl.load_workbook(xlsx_path)
    assert list(book["By month"].values)[1] == ("2024-03", 50_400, 50_400, 0)
    summary = dict(list(book["Summary"].values)[1:])
    assert (summary["billed_idr"], summary["paid_idr"], summary["program"]) == (
        50_400, 50_400, PROGRAM)


def test_reports_as_of_a_position_show_the_numbers_as_they_stood(ledger, members, tmp_path):
    ledger("bill", "generate", "--program", PROGRAM, "--period", "2024-03")
    _, out, _ = ledger("report", "budget", "--program", PROGRAM)
    then = int(out.split("log position ")[1].split("\n")[0].replace(",", ""))
    ledger("bill", "generate", "--program", PROGRAM, "--period", "2024-04")

    code, out, _ = ledger("report", "budget", "--program", PROGRAM, "--position", str(then))
    assert code == 0 and f"log position {then:,}" in out
    assert "2024-04" not in out.split("By month")[1].split("Quota by cohort")[0]

    findings_csv = tmp_path / "findings.csv"
    code, out, _ = ledger("report", "findings", "--program", PROGRAM, "--csv",
                          str(findings_csv))
    assert code == 0 and "unpaid_active" in out
    by_kind = csv_sections(findings_csv)["Findings by kind"]
    assert by_kind[0] == ["kind", "findings", "amount_idr"]
    assert by_kind[1][:2] == ["unpaid_active", "3"]


def test_programs_are_checkpointed_and_a_later_as_of_replays_from_there(ledger, members):
    ledger("bill", "generate", "--program", PROGRAM, "--period", "2024-03")

    code, out, _ = ledger("projections", "checkpoint")

    assert code == 0 and out.startswith(f"{PROGRAM}: checkpoint at log position ")
    kept = int(out.split("log position ")[1].split(" ")[0].replace(",", ""))
    ledger("bill", "generate", "--program", PROGRAM, "--period", "2024-04")
    _, live, _ = ledger("report", "budget", "--program", PROGRAM)
    head = int(live.split("log position ")[1].split("\n")[0].replace(",", ""))
    with capture_logs() as logs:
        code, replayed, _ = ledger("report", "budget", "--program", PROGRAM, "--position",
                                   str(head))
    assert code == 0 and replayed == live
    assert [entry["from_position"] for entry in logs
            if entry["event"] == "as_of_replayed"] == [kept]


def test_a_checkpoint_of_an_unknown_program_is_refused_by_name(ledger, members):
    code, out, err = ledger("projections", "checkpoint", "--program", "nowhere-2024")

    assert code == 1 and out == ""
    assert "program_id" in err and "nowhere-2024" in err


def test_a_bpjs_bill_file_is_imported_reversed_and_lapses_recorded(ledger, members,
                                                                    tmp_path):
    bill_file = tmp_path / "tagihan-2024-03.csv"
    bill_file.write_text("kpj,nik,period,amount_idr\n"
                         f",{PEOPLE[0].nik},2024-03,{TARIFF}\n"
                         f",{PEOPLE[1].nik},2024-03,20000\n", encoding="utf-8")

    code, out, _ = ledger("bill", "import", str(bill_file), "--program", PROGRAM, "--bill-id",
                          "INV-2024-03", "--document-ref", "Surat BPJS TK 123/2024")
    assert code == 0
    assert "2 lines, 1 flagged" in out and "amount_not_tariff" in out
    ledger("bill", "pay", "--program", PROGRAM, "--bill", "INV-2024-03", "--ref", "SP2D-1",
           "--paid-on", "2024-03-10", "--amount", str(TARIFF))
    code, out, _ = ledger("bill", "reverse", "--program", PROGRAM, "--bill", "INV-2024-03",
                          "--ref", "SP2D-1", "--reversed-on", "2024-03-11", "--reason",
                          "bounced")
    assert code == 0 and "paid Rp0" in out

    code, out, _ = ledger("lapses", "record", "--program", PROGRAM, "--as-of", "2024-08-01")
    assert code == 0 and out.startswith("lapses recorded as of 2024-08-01: 3")
    _, out, _ = ledger("lapses", "record", "--program", PROGRAM, "--as-of", "2024-08-01")
    assert out.startswith("lapses recorded as of 2024-08-01: 0")


def test_refusals_are_one_line_and_exit_1(ledger, members, tmp_path):
    ledger("bill", "generate", "--program", PROGRAM, "--period", "2024-03")

    for args, problem in (
        (("bill", "pay", "--program", PROGRAM, "--bill", "2024-03", "--ref", "SP2D-1",
          "--paid-on", "2024-03-10", "--amount", str(4 * TARIFF)),
         "(payment-exceeds-bill) [amount_idr]"),
        (("bill", "pay", "--program", PROGRAM, "--bill", "2024-09", "--ref", "SP2D-1",
          "--paid-on", "2024-03-10", "--amount", "0"), "(bill-not-found) [bill_id]"),
        (("bill", "generate", "--program", PROGRAM, "--period", "2025-01"),
         "(outside-coverage-window) [period]"),
        (("report", "budget", "--program", "kotamobagu-2099"), "(program-not-found)"),
        (("report", "budget", "--program", PROGRAM, "--as-of", "2024-3"),
         "(invalid-input) [as_of]"),
        (("report", "findings", "--program", PROGRAM, "--csv",
          str(tmp_path / "no-such-dir" / "f.csv")), "(invalid-input) [csv]"),
        (("bill", "import", str(tmp_path / "missing.csv"), "--program", PROGRAM,
          "--bill-id", "X", "--document-ref", "Y"), "(import-rejected) [file]"),
    ):
        code, _, err = ledger(*args)
        assert code == 1, args
        refusal = err.strip().splitlines()[-1]
        assert refusal.startswith(f"ledger: refused {problem}"), refusal

    with pytest.raises(SystemExit) as usage:
        ledger("report", "budget", "--program", PROGRAM, "--as-of", "2024-03", "--position", "3")
    assert usage.value.code == 2
