"""Projections passed on by tests, declaring what the wrapped one declares."""

from ledger.system import read_models
from projections.runner import ProjectionRunner


class Wrapped:
    """A projection passed on, declaring what it declares."""

    def __init__(self, projection) -> None:
        self._projection = projection
        for name in ("name", "tables", "personal_fields", "sealed_fields", "indexed_for_readers",
                     "event_types", "by_stream", "summed_tables", "reads_from", "bulk_types"):
            setattr(self, name, getattr(projection, name))

    def apply(self, tx, batch) -> None:
        self._projection.apply(tx, batch)


class KeepingItsTransactions(Wrapped):
    """A projection that keeps the names of the events each transaction gave it."""

    def __init__(self, projection) -> None:
        super().__init__(projection)
        self.transactions: list[list[str]] = []

    def apply(self, tx, batch) -> None:
        self.transactions.append([type(r.event).__name__ for r in batch])
        self._projection.apply(tx, batch)


def keeping_contributions(system) -> tuple[ProjectionRunner, KeepingItsTransactions]:
    """A runner of the ledger's projections, in batches that could hold a year of one
    program, whose contributions projection keeps what each of its transactions held."""
    keeping = KeepingItsTransactions(next(p for p in read_models(system.keyring)
                                          if p.name == "contributions"))
    projections = [keeping if p.name == "contributions" else p
                   for p in read_models(system.keyring)]
    return ProjectionRunner(system.store, system.storage.db, projections,
                            batch_size=1000), keeping


def bills_and_payments(system) -> int:
    logged = [type(r.event).__name__ for r in system.store.read_log(0, 1000)]
    return logged.count("BillIssued") + logged.count("PaymentRecorded")


def sizes_with_a_bill_or_payment(keeping: KeepingItsTransactions) -> list[int]:
    """How many events each transaction that held a bill or a payment held."""
    return [len(names) for names in keeping.transactions
            if {"BillIssued", "PaymentRecorded"} & set(names)]
