"""The composition root: storage, event store, service and projections, wired once.

Entry points (CLI, HTTP app, benchmarks, tests) call ``open_system`` and
``close`` it; nothing is created at import time.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ledger.claims import Claims
from ledger.contributions import Contributions
from ledger.service import Ledger
from ledger.settings import Settings
from ledger.storage import Database, Storage, open_storage
from ledger.store import EventStore
from projections import views
from projections.claims import ClaimsProjection
from projections.contributions import ContributionsProjection
from projections.participants import ParticipantsProjection
from projections.programs import ProgramsProjection
from projections.runner import Projection, ProjectionRunner

T = TypeVar("T")


@dataclass
class System:
    settings: Settings
    storage: Storage
    store: EventStore
    ledger: Ledger
    contributions: Contributions
    claims: Claims
    projections: ProjectionRunner

    def close(self) -> None:
        self.storage.close()

    def __enter__(self) -> "System":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_models() -> list[Projection]:
    """Every projection, in the order they apply a batch: contributions reads what the
    programs and participants projections write."""
    return [ProgramsProjection(), ParticipantsProjection(), ContributionsProjection(),
            ClaimsProjection()]


def open_system(settings: Settings, *, apply_migrations: bool = True) -> System:
    storage = open_storage(settings.database_url, apply_migrations=apply_migrations,
                           pool_size=settings.pool_size)
    store = EventStore(storage)
    runner = ProjectionRunner(store, storage.db, read_models())
    ledger = Ledger(store)

    def caught_up(read: Callable[[Database, str], T]) -> Callable[[str], T]:
        """A read-model port that first applies every event already in the log, so a
        decision never rests on a projection that lags behind the log."""
        def port(key: str) -> T:
            runner.catch_up()
            return read(storage.db, key)
        return port

    contributions = Contributions(store, ledger, caught_up(views.roster),
                                  caught_up(views.paid_months))
    claims = Claims(store, ledger, caught_up(views.paid_months_of))
    return System(settings=settings, storage=storage, store=store, ledger=ledger,
                  contributions=contributions, claims=claims, projections=runner)
