"""A catch-up on PostgreSQL applies each bill and payment in a transaction of its own, as a
rebuild's lanes do: a worker back from downtime meets a year's payments in a few batches,
and each rewrites every member's months."""

import pytest

from ledger.settings import Settings
from ledger.system import open_system, read_models
from projections.replay import event_types
from tests.projections.test_rebuild_swap import (
    PROGRAM,
    a_year,
    built_from_scratch,
    read_models_now,
)
from tests.projections.wrapping import (
    bills_and_payments,
    keeping_contributions,
    sizes_with_a_bill_or_payment,
)


@pytest.fixture
def pg_system(pg_url, tmp_path):
    with open_system(Settings(database_url=pg_url, data_dir=tmp_path)) as system:
        yield system


def test_a_catch_up_after_downtime_gives_each_bill_and_payment_a_transaction(pg_system,
                                                                             tmp_path):
    # Given a program's year, and read models emptied back to the log's start, as if the
    # worker had been down all year
    a_year(pg_system, PROGRAM)
    with pg_system.storage.db.transaction() as tx:
        for projection in read_models(pg_system.keyring):
            for table in projection.tables:
                tx.execute(f"DELETE FROM {table}")
        tx.execute("UPDATE projection_positions SET position = 0")
    runner, keeping = keeping_contributions(pg_system)

    # When a runner catches up, in batches that could hold the whole year
    applied = runner.catch_up()

    # Then every bill and every payment had a transaction to itself, every event the
    # projections apply was applied once, and the read models are what the log gives
    assert bills_and_payments(pg_system) >= 8
    assert sizes_with_a_bill_or_payment(keeping) == [1] * bills_and_payments(pg_system)
    named = event_types(read_models(pg_system.keyring))
    assert applied == sum(1 for r in pg_system.store.read_log(0, 1000)
                          if isinstance(r.event, named))
    assert set(runner.positions().values()) == {pg_system.store.head()}
    assert read_models_now(pg_system) == built_from_scratch(pg_system, tmp_path)
