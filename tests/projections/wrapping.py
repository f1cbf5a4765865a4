"""Projections passed on by tests, declaring what the wrapped one declares."""


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
