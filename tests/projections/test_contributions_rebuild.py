"""Contributions read models: built step by step, rebuilt, or replayed, they agree."""

import itertools
from datetime import date
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from ledger.errors import LedgerError
from ledger.participant import Terminate
from ledger.system import read_models
from projections.as_of import replayed
from projections.budget import budget_summary
from projections.contributions import ContributionsProjection
from projections.findings import findings
from tests.service.test_contributions import FINANCE, PEOPLE, PROGRAM, enroll_people

TABLES = ContributionsProjection.tables
AS_OF = date(2024, 10, 1)
MONTHS = [f"2024-{m:02d}" for m in range(3, 9)]
EXAMPLES = itertools.count()


def snapshot(system) -> dict[str, list]:
    with system.storage.db.snapshot() as tx:
        return {t: sorted(map(repr, (sorted(r.items()) for r in tx.fetchall(
            f"SELECT * FROM {t}")))) for t in TABLES}


def reports(db, program: str) -> tuple:
    with db.snapshot() as tx:
        return budget_summary(tx, program, AS_OF), findings(tx, program, AS_OF)


def run(system, program: str, members: list[str], step: tuple[str, int, int]) -> None:
    """Apply one generated command; refusals are part of a realistic history."""
    kind, month, who = step
    period, money = MONTHS[month], system.contributions
    paid_on = min(periods.day_in(period, 10 + 9 * who), date(2024, 9, 30))
    commands = {
        "bill": lambda: money.generate_bill(program, GenerateBill(period=period), FINANCE),
        "pay_all": lambda: money.record_payment(program, period, RecordPayment(
            payment_ref=f"SP2D-{period}-{who}", paid_on=paid_on,
            amount_idr=money.bill(program, period).outstanding_idr), FINANCE),
        "pay_one": lambda: money.record_payment(program, period, RecordPayment(
            payment_ref=f"SP2D-{period}-1x{who}", paid_on=paid_on, amount_idr=16_800), FINANCE),
        "reverse": lambda: money.reverse_payment(program, period, ReversePayment(
            payment_ref=f"SP2D-{period}-{who}", reversed_on=date(2024, 9, 30),
            reason="bounced"), FINANCE),
        "refund": lambda: money.record_refund(program, period, RecordRefund(
            refund_ref=f"REF-{period}-{who}", payment_ref=f"SP2D-{period}-{who}",
            refunded_on=date(2024, 9, 30), reason="died",
            months=[RefundMonth(participant_id=members[who], period=period)]), FINANCE),
        "supplement": lambda: money.import_bill(program, ImportBill(
            bill_id=f"S-{period}-{who}", document_ref="susulan.csv"),
            [ImportedLine(line_no=1, nik=PEOPLE[who].nik, kpj=None, period=period,
                          amount_idr=16_800 + 100 * (who == 2))], FINANCE),
        "pay_supplement": lambda: money.record_payment(program, f"S-{period}-{who}",
                                                       RecordPayment(
            payment_ref=f"SP2D-S-{period}-{who}", paid_on=paid_on,
            amount_idr=money.bill(program, f"S-{period}-{who}").outstanding_idr), FINANCE),
        "die": lambda: system.ledger.terminate(program, UUID(members[who]), Terminate(
            reason="died", effective_date=periods.day_in(period, 20)), FINANCE),
        "lapses": lambda: money.record_lapses(program, periods.day_in(period, 28), FINANCE),
    }
    try:
        commands[kind]()
    except LedgerError:
        pass  # a refused command appends nothing


steps = st.lists(st.tuples(
    st.sampled_from(["bill", "bill", "pay_all", "pay_all", "pay_one", "reverse", "refund",
                     "supplement", "pay_supplement", "die", "lapses"]),
    st.integers(0, len(MONTHS) - 1), st.integers(0, len(PEOPLE) - 1)),
    min_size=1, max_size=30)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps)
def test_rebuilt_and_replayed_read_models_equal_the_incremental_ones(system, history):
    program = f"{PROGRAM}-{next(EXAMPLES)}"  # examples share the test's database
    members = enroll_people(system, program)
    for step in history:
        run(system, program, members, step)
        system.projections.catch_up()
    incremental, live = snapshot(system), reports(system.storage.db, program)

    system.projections.rebuild("contributions")

    assert snapshot(system) == incremental
    assert reports(system.storage.db, program) == live
    with replayed(system.store, read_models(system.keyring), system.store.head()) as db:
        assert reports(db, program) == live
