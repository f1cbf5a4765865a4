"""Bills, payments, refunds and the read models they feed, on SQLite and PostgreSQL."""

from datetime import date
from pathlib import Path
from uuid import UUID

import msgspec
import pytest

from ledger import periods
from ledger.bill import (
    GenerateBill,
    ImportBill,
    ImportedLine,
    RecordPayment,
    RecordRefund,
    RefundMonth,
    ReversePayment,
)
from ledger.errors import PaymentExceedsBill, ReferenceAlreadyUsed
from ledger.participant import Enroll, Terminate
from ledger.service import Actor
from ledger.settings import Settings
from ledger.system import open_system, read_models
from projections import views
from projections.as_of import position_at_end_of, replayed
from projections.budget import budget_summary
from projections.findings import findings
from tests.service.test_ledger_service import OPEN_KOTAMOBAGU, registry_knowing
from tests.unit.scenario import siti

CLERK = Actor("clerk-1", "enrollment_clerk")
FINANCE = Actor("finance-1", "finance_officer")
PROGRAM = "kotamobagu-2024"
PEOPLE = [siti(), siti(nik="7174011204800002", full_name="Budi Lantong", sex="L",
                       birth_date=date(1980, 4, 12), occupation="Pengemudi Ojek"),
          siti(nik="7174012507900003", full_name="Rahmat Damopolii", sex="L",
               birth_date=date(1990, 7, 25))]


@pytest.fixture
def system(db_url: str, tmp_path: Path):
    with open_system(Settings(database_url=db_url, data_dir=tmp_path)) as system:
        yield system


@pytest.fixture
def members(system) -> list[str]:
    """Given Kotamobagu's program with three matched people enrolled from March 2024."""
    return enroll_people(system)


def enroll_people(system, program_id: str = PROGRAM) -> list[str]:
    system.ledger.open_program(msgspec.structs.replace(OPEN_KOTAMOBAGU, program_id=program_id),
                               CLERK)
    submitted = system.ledger.submit_batch(program_id, PEOPLE, CLERK,
                                           registry=registry_knowing(*PEOPLE))
    enrolled = system.ledger.enroll_batch(
        program_id, [(r.participant_id, Enroll(kpj=f"2400000000{i}",
                                               coverage_start=date(2024, 3, 1),
                                               batch="phase 1"))
                     for i, r in enumerate(submitted)], CLERK)
    assert all(r.error is None for r in enrolled)
    return [str(r.participant_id) for r in submitted]


def read(system, query, as_of: date):
    system.projections.catch_up()
    with system.storage.db.snapshot() as tx:
        return query(tx, PROGRAM, as_of)


def test_a_month_billed_and_paid_shows_in_the_budget(system, members):
    bill = system.contributions.generate_bill(PROGRAM, GenerateBill(period="2024-03"), FINANCE)
    assert [line.amount_idr for line in bill.issued.lines] == [16_800] * 3

    paid = system.contributions.record_payment(
        PROGRAM, "2024-03", RecordPayment(payment_ref="SP2D-001", paid_on=date(2024, 3, 10),
                                          amount_idr=50_400), FINANCE)

    assert paid.outstanding_idr == 0
    budget = read(system, budget_summary, date(2024, 3, 31))
    assert (budget.billed_idr, budget.paid_idr, budget.billed_unpaid_idr) == (50_400, 50_400, 0)
    assert budget.active_members == 3
    assert budget.committed_idr == 3 * 9 * 16_800  # April..December not billed yet
    assert budget.available_idr == 1_512_000_000 - 50_400 - 3 * 9 * 16_800
    assert [(m.period, m.billed_idr, m.paid_idr) for m in budget.months] == [
        ("2024-03", 50_400, 50_400)]


def test_a_payment_is_never_applied_twice(system, members):
    system.contributions.generate_bill(PROGRAM, GenerateBill(period="2024-03"), FINANCE)
    system.contributions.generate_bill(PROGRAM, GenerateBill(period="2024-04"), FINANCE)
    pay = RecordPayment(payment_ref="SP2D-001", paid_on=date(2024, 3, 10), amount_idr=16_800)
    system.contributions.record_payment(PROGRAM, "2024-03", pay, FINANCE)
    head = system.store.head()

    system.contributions.record_payment(PROGRAM, "2024-03", pay, FINANCE)  # a retry
    assert system.store.head() == head
    with pytest.raises(ReferenceAlreadyUsed):
        system.contributions.record_payment(PROGRAM, "2024-04", pay, FINANCE)
    with pytest.raises(PaymentExceedsBill):
        system.contributions.record_payment(PROGRAM, "2024-03", msgspec.structs.replace(
            pay, payment_ref="SP2D-002", amount_idr=50_400), FINANCE)
    assert system.store.head() == head


def test_findings_catch_paid_after_death_double_payment_and_the_unpaid(system, members):
    siti_id, budi_id, _ = members
    for period in ("2024-03", "2024-04", "2024-05"):
        system.contributions.generate_bill(PROGRAM, GenerateBill(period=period), FINANCE)
    system.contributions.record_payment(PROGRAM, "2024-03", RecordPayment(
        payment_ref="SP2D-03", paid_on=date(2024, 3, 10), amount_idr=50_400), FINANCE)
    system.contributions.record_payment(PROGRAM, "2024-05", RecordPayment(
        payment_ref="SP2D-05", paid_on=date(2024, 5, 10), amount_idr=50_400), FINANCE)
    system.ledger.terminate(PROGRAM, UUID(siti_id), Terminate(
        reason="died", effective_date=date(2024, 4, 20)), CLERK)
    system.contributions.import_bill(PROGRAM, ImportBill(
        bill_id="BPJS-2024-03-SUSULAN", document_ref="tagihan susulan.csv"),
        [ImportedLine(line_no=1, nik=PEOPLE[1].nik, kpj=None, period="2024-03",
                      amount_idr=16_800)], FINANCE)
    system.contributions.record_payment(PROGRAM, "BPJS-2024-03-SUSULAN", RecordPayment(
        payment_ref="SP2D-03B", paid_on=date(2024, 3, 20), amount_idr=16_800), FINANCE)

    found = read(system, findings, date(2024, 6, 1))

    kinds = {(f.kind, f.participant_id, tuple(f.periods)) for f in found}
    assert ("paid_after_death", siti_id, ("2024-05",)) in kinds
    assert ("double_payment", budi_id, ("2024-03",)) in kinds
    assert ("unpaid_active", budi_id, ("2024-04",)) in kinds
    death = next(f for f in found if f.kind == "paid_after_death")
    assert death.amount_idr == 16_800


def test_members_left_unpaid_together_each_get_their_own_unpaid_finding(system, members):
    # Given March paid and April and May billed but not paid (a late APBD disbursement)
    for period in ("2024-03", "2024-04", "2024-05"):
        system.contributions.generate_bill(PROGRAM, GenerateBill(period=period), FINANCE)
    system.contributions.record_payment(PROGRAM, "2024-03", RecordPayment(
        payment_ref="SP2D-03", paid_on=date(2024, 3, 10), amount_idr=50_400), FINANCE)

    # When the findings are read in June
    found = read(system, findings, date(2024, 6, 1))

    # Then every member is unpaid for the same two months at the full tariff, and each
    # finding names its own months: changing one leaves the others as they were
    unpaid = [f for f in found if f.kind == "unpaid_active"]
    assert sorted(f.participant_id for f in unpaid) == sorted(members)
    assert [(f.periods, f.amount_idr) for f in unpaid] == [(["2024-04", "2024-05"], 33_600)] * 3
    unpaid[0].periods.append("2024-06")
    assert [f.periods for f in unpaid[1:]] == [["2024-04", "2024-05"]] * 2


def test_a_refund_clears_the_finding_and_a_reversal_reopens_the_bill(system, members):
    siti_id = members[0]
    system.contributions.generate_bill(PROGRAM, GenerateBill(period="2024-03", months=3),
                                       FINANCE)
    system.contributions.record_payment(PROGRAM, "2024-03+3", RecordPayment(
        payment_ref="SP2D-Q1", paid_on=date(2024, 3, 5), amount_idr=3 * 3 * 16_800), FINANCE)
    system.ledger.terminate(PROGRAM, UUID(siti_id), Terminate(
        reason="died", effective_date=date(2024, 3, 28)), CLERK)
    assert {f.kind for f in read(system, findings, date(2024, 3, 29))} == {"paid_after_death"}

    system.contributions.record_refund(PROGRAM, "2024-03+3", RecordRefund(
        refund_ref="BPJS-REF-1", payment_ref="SP2D-Q1", refunded_on=date(2024, 4, 15),
        reason="died 28 March", months=[RefundMonth(participant_id=siti_id, period=p)
                                        for p in ("2024-04", "2024-05")]), FINANCE)
    assert read(system, findings, date(2024, 4, 16)) == []
    budget = read(system, budget_summary, date(2024, 4, 16))
    assert (budget.paid_idr, budget.refunded_idr) == (151_200, 33_600)

    other = system.contributions.generate_bill(PROGRAM, GenerateBill(period="2024-06"),
                                               FINANCE)
    system.contributions.record_payment(PROGRAM, "2024-06", RecordPayment(
        payment_ref="SP2D-06", paid_on=date(2024, 6, 5), amount_idr=other.billed_idr), FINANCE)
    reopened = system.contributions.reverse_payment(PROGRAM, "2024-06", ReversePayment(
        payment_ref="SP2D-06", reversed_on=date(2024, 6, 7), reason="bounced"), FINANCE)
    assert reopened.outstanding_idr == other.billed_idr


def test_an_unpaid_member_lapses_and_can_be_enrolled_again(system, members):
    for period in ("2024-03", "2024-04", "2024-05", "2024-06"):
        system.contributions.generate_bill(PROGRAM, GenerateBill(period=period), FINANCE)

    lapsed = system.contributions.record_lapses(PROGRAM, date(2024, 7, 1), FINANCE)

    assert len(lapsed) == 3 and all(r.state.status == "lapsed" for r in lapsed)
    assert system.ledger.program(PROGRAM).seats_taken_total == 0
    system.projections.catch_up()
    totals = views.program_summary(system.storage.db, PROGRAM)["totals"]
    assert (totals["lapsed"], totals["enrolled"]) == (3, 0)
    again = system.ledger.enroll(PROGRAM, lapsed[0].participant_id, Enroll(
        kpj=lapsed[0].state.kpj, coverage_start=date(2024, 7, 1), batch="re-enrolled"), CLERK)
    assert again.state.status == "enrolled"



def test_the_budget_as_of_a_position_is_replayed_by_the_same_projections(system, members):
    system.contributions.generate_bill(PROGRAM, GenerateBill(period="2024-03"), FINANCE)
    system.contributions.record_payment(PROGRAM, "2024-03", RecordPayment(
        payment_ref="SP2D-03", paid_on=date(2024, 3, 10), amount_idr=50_400), FINANCE)
    then = system.store.head()
    system.contributions.generate_bill(PROGRAM, GenerateBill(period="2024-04"), FINANCE)
    system.contributions.record_payment(PROGRAM, "2024-04", RecordPayment(
        payment_ref="SP2D-04", paid_on=date(2024, 4, 10), amount_idr=50_400), FINANCE)

    with replayed(system.store, read_models(system.keyring), then) as db, db.snapshot() as tx:
        past = budget_summary(tx, PROGRAM, date(2024, 3, 31))
    now = read(system, budget_summary, date(2024, 4, 30))

    assert (past.billed_idr, past.paid_idr) == (50_400, 50_400)
    assert (now.billed_idr, now.paid_idr) == (100_800, 100_800)


def test_as_of_a_month_means_what_the_ledger_had_recorded_by_its_end(system, members):
    today = date.today()
    assert position_at_end_of(system.store, periods.of(today)) == system.store.head()
    assert position_at_end_of(system.store, periods.shift(periods.of(today), -1)) == 0


def test_bills_stay_folded_between_commands_up_to_a_bound_on_their_lines(system, members,
                                                                          monkeypatch):
    # given room for two three-line bills, and three bills generated
    monkeypatch.setattr("ledger.contributions.CACHED_BILL_LINES", 6)
    for month in ("2024-03", "2024-04", "2024-05"):
        system.contributions.generate_bill(PROGRAM, GenerateBill(period=month), FINANCE)
    read_back = []
    reading = system.store.read
    monkeypatch.setattr(system.store, "read", lambda stream, after_version=0: read_back.append(
        after_version) or reading(stream, after_version))

    def pay(month: str) -> None:
        read_back.clear()
        system.contributions.record_payment(PROGRAM, month, RecordPayment(
            payment_ref=f"SP2D-{month}", paid_on=date(2024, 6, 10), amount_idr=16_800),
            FINANCE)

    # when the latest bill is paid, then only what its stream gained since is read
    pay("2024-05")
    assert read_back[0] == 1
    # when the first bill, pushed out by the two after it, is paid, then it is read whole
    pay("2024-03")
    assert read_back[0] == 0
