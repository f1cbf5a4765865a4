"""The composition root: storage, event store, service and projections, wired once.

Entry points (CLI, HTTP app, benchmarks, tests) call ``open_system`` and
``close`` it; nothing is created at import time.
"""

from dataclasses import dataclass

from ledger.service import Ledger
from ledger.settings import Settings
from ledger.storage import Storage, open_storage
from ledger.store import EventStore
from projections.participants import ParticipantsProjection
from projections.programs import ProgramsProjection
from projections.runner import ProjectionRunner


@dataclass
class System:
    settings: Settings
    storage: Storage
    store: EventStore
    ledger: Ledger
    projections: ProjectionRunner

    def close(self) -> None:
        self.storage.close()

    def __enter__(self) -> "System":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def open_system(settings: Settings, *, apply_migrations: bool = True) -> System:
    storage = open_storage(settings.database_url, apply_migrations=apply_migrations,
                           pool_size=settings.pool_size)
    store = EventStore(storage)
    runner = ProjectionRunner(store, storage.db, [ProgramsProjection(), ParticipantsProjection()])
    return System(settings=settings, storage=storage, store=store, ledger=Ledger(store),
                  projections=runner)
