"""``ledger demo``: the Kotamobagu scenario and Minahasa Tenggara's year of claims, end to end,
small enough for the test suite. The full 9,000-candidate run is done by hand (see docs); it takes
seconds, not minutes."""

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
                    "Findings of kotamobagu-2024-demo-2024", "paid_after_death",
                    "Kab. Minahasa Tenggara 2024: a year of JKM and JKK claims",
                    "APBD Rp73.920.000 (11 months) and CSR Rp10.000.000",
                    "JKK-7109-2024-002 (JKK) rejected:", "month_not_covered 2024-07",
                    "8 days late: penalty Rp452.000",
                    "Claims of minahasa-tenggara-2024-demo-2024 as of 2024-12-31",
                    "By benefit and status", "Breaches"):
        assert section in out
    assert out.index("Findings of kotamobagu") < out.index("Claims of minahasa") < out.index(
        "Where the data is")
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
    assert "minahasa-tenggara-2024-demo-7 is already in this database" in second.stdout
    assert ": billed " not in second.stdout  # nor of Minahasa's
    claims = second.stdout.split("Claims of minahasa-tenggara-2024-demo-7")[1]
    assert claims.split("Breaches")[0] == first.stdout.split(
        "Claims of minahasa-tenggara-2024-demo-7")[1].split("Breaches")[0]


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


def test_the_minahasa_tenggara_year_pays_deaths_on_time_and_an_accident_late(tmp_path,
                                                                             db_url):
    """Kab. Minahasa Tenggara's year of claims, on both backends: three deaths paid to the
    heirs within three working days, an accident paid eight days late with its 1% a day
    penalty paid on its own, and an accident rejected because July was held back."""
    from datetime import date
    from uuid import UUID

    from ledger import demo_claims
    from ledger.claim import LATE_PENALTY
    from ledger.settings import Settings
    from ledger.system import open_system
    from projections.claims_report import claims_report
    from projections.findings import findings

    said: list[str] = []
    year_end = date(2024, 12, 31)
    with open_system(Settings(database_url=db_url, data_dir=tmp_path)) as system:
        result = demo_claims.run(system, seed=11, demo_dir=tmp_path / "mitra", say=said.append)
        program = result.program_id
        claims = {c: system.claims.claim(program, c)
                  for c in (*result.death_claims, result.late_claim, result.rejected_claim,
                            result.on_time_claim)}
        people = {p: system.ledger.participant(program, UUID(p)) for p in result.died}
        system.projections.catch_up()
        with system.storage.db.snapshot() as tx:
            report = claims_report(tx, program, year_end)
            found = findings(tx, program, year_end)
        head = system.store.head()
        again: list[str] = []
        assert demo_claims.run(system, seed=11, demo_dir=tmp_path / "mitra",
                               say=again.append) is None
        assert system.store.head() == head  # a second run shows the year, adds nothing

    lines = {line.claim_id: line for line in report.claims}
    assert len(lines) == 6
    # One rejection, naming the unpaid month: the claimant was one of July's held back.
    rejected = claims[result.rejected_claim]
    assert rejected.status == "rejected"
    assert (rejected.rejected.reason_code, rejected.rejected.failed_month) == (
        "month_not_covered", "2024-07")
    assert rejected.reported.participant_id in result.held_back
    assert len(result.held_back) == demo_claims.HELD_BACK
    assert {f.kind for f in found} == {"unpaid_active"}  # no payment after any death
    assert sorted(f.participant_id for f in found) == sorted(result.held_back)
    assert all(f.periods == ["2024-07"] for f in found)
    # One JKK paid late: documents complete 10 June, due 20 June (Idul Adha on the 17th),
    # paid 28 June: 8 days at 1% of Rp5,650,000, paid as its own payout.
    late = claims[result.late_claim]
    assert late.reported.traffic_accident and "police_report" in late.documents
    assert late.due_on == date(2024, 6, 20)
    assert late.benefit_paid_idr == 3_250_000 + 400_000 + 2 * 1_000_000
    assert result.late_penalty_idr == late.paid_idr(LATE_PENALTY) == 5_650_000 * 8 // 100
    assert late.status == "closed"
    (breach,) = report.breaches
    assert (breach.claim_id, breach.sla_status, breach.days_late, breach.penalty_idr) == (
        result.late_claim, "late", 8, 452_000)
    # The deaths: paid in full to the heirs on time, and each ended the member's cover.
    assert len(result.death_claims) == len(result.died) == len(demo_claims.DEATHS)
    for claim_id, pid in zip(result.death_claims, result.died, strict=True):
        line = lines[claim_id]
        assert (line.benefit, line.status, line.sla_status, line.paid_idr) == (
            "JKM", "closed", "on_time", 42_000_000)
        assert line.last_paid_on <= line.due_on
        assert {p.relation for p in claims[claim_id].payouts} <= {"spouse", "child"}
        assert people[pid].status == "terminated"
    assert [lines[c].due_on for c in result.death_claims] == [
        date(2024, 4, 2), date(2024, 9, 18), date(2024, 12, 2)]  # holidays on the clock
    assert lines[result.on_time_claim].sla_status == "on_time"
    assert report.median_days_to_payment == 8
    out = "\n".join(said)
    for section in ("Claims of minahasa-tenggara-2024-demo-11", "By benefit and status",
                    "month_not_covered", "2024-12: billed", "from CSR",
                    "handed over by the Bupati"):
        assert section in out
    assert "already in this database" in "\n".join(again)
