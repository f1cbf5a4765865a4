"""``ledger demo``: the Kotamobagu scenario end to end, small enough for the test suite.
The full 9,000-candidate run is done by hand (see docs); it takes seconds, not minutes."""

import os
import subprocess
import sys


def demo(tmp_path, *args, database_url=None):
    env = {k: v for k, v in os.environ.items() if k != "LEDGER_DATABASE_URL"}
    env["LEDGER_DATA_DIR"] = str(tmp_path)
    if database_url:
        env["LEDGER_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "ledger.cli", "demo", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_demo_runs_on_its_own_sqlite_file_and_prints_the_summary(tmp_path):
    result = demo(tmp_path, "--count", "600")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    for section in ("Participants by status", "Top mismatch reasons", "By village (top 10",
                    "quota 600: ", "Where the data is", "Imported kpj tahap-3",
                    "2024-12: billed", "Budget of kotamobagu-2024-demo-2024",
                    "Findings of kotamobagu-2024-demo-2024", "paid_after_death"):
        assert section in out
    assert f"database: sqlite:///{tmp_path / 'demo.sqlite'}" in out
    assert f"rejections (candidates): {tmp_path / 'demo' / 'candidates-rejections.csv'}" in out
    assert "APBD Rp100.800.000 (600 x Rp16.800 x 10 months)" in out
    # Every run starts from a fresh file, so a second one does the same again.
    assert demo(tmp_path, "--count", "600").stdout.count("Imported candidates: 600 rows") == 1


def test_on_a_configured_database_an_existing_demo_program_is_shown_not_redone(tmp_path,
                                                                                db_url):
    first = demo(tmp_path, "--count", "300", "--seed", "7", database_url=db_url)
    second = demo(tmp_path, "--count", "300", "--seed", "7", database_url=db_url)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "kotamobagu-2024-demo-7 is already in this database" in second.stdout
    assert "Imported" not in second.stdout and "Participants by status" in second.stdout
    assert "Findings of kotamobagu-2024-demo-7" in second.stdout
    assert "billed" not in second.stdout.split("Budget of")[0]  # no second year of bills


def test_the_demo_year_bills_pays_and_finds_what_went_wrong(tmp_path):
    """The year after enrollment: June paid late but inside its window (no gap), April paid
    twice through a supplementary bill, three deaths in August reported after September and
    October were paid, the budget revised in September."""
    from datetime import date

    from ledger import demo, demo_year
    from ledger.settings import Settings
    from ledger.system import open_system
    from projections.budget import budget_summary
    from projections.findings import findings

    said: list[str] = []
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.sqlite'}", data_dir=tmp_path)
    with open_system(settings) as system:
        result = demo.run(system, seed=2024, count=600, say=said.append)
        with system.storage.db.snapshot() as tx:
            budget = budget_summary(tx, result.program_id, date(2024, 12, 31))
            found = findings(tx, result.program_id, date(2024, 12, 31))
            payments = tx.fetchall("SELECT amount_idr FROM bill_payments "
                                   "WHERE program_id = :p AND reversed_on IS NULL",
                                   {"p": result.program_id})

    year = result.year
    assert len(year.payments) == 11  # ten months and the supplementary bill
    assert budget.paid_idr == year.paid_idr == sum(p["amount_idr"] for p in payments)
    assert budget.billed_unpaid_idr == 0
    assert budget.budget_idr == year.revised_budget_idr == 600 * 16_800 * 10 * 80 // 100
    by_kind = {}
    for finding in found:
        by_kind.setdefault(finding.kind, []).append(finding)
    assert set(by_kind) == {"paid_after_death", "double_payment"}
    assert sorted(f.participant_id for f in by_kind["paid_after_death"]) == sorted(year.died)
    assert len(year.died) == demo_year.DEATHS
    assert all(f.periods == ["2024-09", "2024-10"] and f.amount_idr == 2 * 16_800
               for f in by_kind["paid_after_death"])
    (double,) = by_kind["double_payment"]
    assert (double.participant_id, double.periods, double.amount_idr) == (
        year.paid_twice, ["2024-04"], 16_800)
    out = "\n".join(said)
    for section in ("2024-06: paid late on 2024-08-20", "APBD-Perubahan", "Budget of ",
                    "By month", "Findings of ", "paid_after_death", "double_payment"):
        assert section in out
