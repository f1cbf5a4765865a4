"""The composition root: storage, event store, service and projections, wired once.

Entry points (CLI, HTTP app, benchmarks, tests) call ``open_system`` and
``close`` it; nothing is created at import time.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from ledger.claims import Claims
from ledger.contributions import Contributions
from ledger.errors import KeysUnusable
from ledger.personal_data import Keyring, load_keyring
from ledger.program_snapshots import ProgramSnapshots
from ledger.service import Ledger
from ledger.settings import Settings
from ledger.storage import Database, Storage, Tx, open_storage
from ledger.store import EventStore
from projections import lanes, views
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
    keyring: Keyring
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


def read_models(keyring: Keyring) -> list[Projection]:
    """Every projection, in the order they apply a batch: contributions reads what the
    programs and participants projections write."""
    return [ProgramsProjection(), ParticipantsProjection(keyring), ContributionsProjection(),
            ClaimsProjection()]


def open_system(settings: Settings, *, apply_migrations: bool = True) -> System:
    storage = open_storage(settings.database_url, apply_migrations=apply_migrations,
                           migration_url=settings.migration_url, pool_size=settings.pool_size)
    try:
        keyring = load_keyring(settings.keys_json, settings.key_file, settings.data_dir)
        _check_keys(storage.db, keyring)
    except BaseException:
        storage.close()
        raise
    store = EventStore(storage, keyring)
    runner = ProjectionRunner(store, storage.db, read_models(keyring),
                              reopen=partial(lane_tools, settings))
    ledger = Ledger(store, keyring, snapshots=ProgramSnapshots(storage.db))

    def caught_up(read: Callable[[Database, str], T]) -> Callable[[str], T]:
        """A read-model port that first brings the read models to the log's head (applying
        what nobody is applying, waiting for the runner that is), so a decision never
        rests on a projection that lags behind the log."""
        def port(key: str) -> T:
            runner.catch_up()
            return read(storage.db, key)
        return port

    contributions = Contributions(store, ledger, caught_up(views.roster),
                                  caught_up(views.paid_months), keyring.nik_hash)
    claims = Claims(store, ledger, caught_up(views.paid_months_of))
    return System(settings=settings, storage=storage, keyring=keyring, store=store,
                  ledger=ledger,
                  contributions=contributions, claims=claims, projections=runner)


@contextmanager
def lane_tools(settings: Settings) -> Iterator[lanes.Tools]:
    """The log, the database and the projections, opened again in a rebuild lane's own
    process (``projections.lanes``)."""
    with open_system(settings, apply_migrations=False) as system:
        yield system.store, system.storage.db, read_models(system.keyring)


def _check_keys(db: Database, keyring: Keyring) -> None:
    """Refuse keys other than those this ledger's data was sealed with, and a keyring
    that lacks one of them, before anything is read or written: a wrong key found later
    would be unreadable rows, or worse, NIK hashes that match nobody. A key the ledger
    has not seen yet (the first run, a rotation) is remembered in the same transaction
    that checks, so two processes starting together with different keys cannot both be
    accepted, and a refused keyring leaves nothing behind."""
    held = keyring.fingerprints
    with db.transaction() as tx:
        known = _known_fingerprints(tx)
        if set(held) - set(known):  # only then write: a read replica opens too
            tx.executemany("INSERT INTO key_fingerprints (key_name, fingerprint) "
                           "VALUES (:key_name, :fingerprint) ON CONFLICT (key_name) DO NOTHING",
                           [{"key_name": name, "fingerprint": fingerprint}
                            for name, fingerprint in held.items() if name not in known])
            known = _known_fingerprints(tx)
        wrong = sorted(name for name, fingerprint in held.items() if known[name] != fingerprint)
        missing = sorted(set(known) - set(held))
        if wrong or missing:
            raise KeysUnusable(
                "the personal-data keys are not this ledger's: "
                + "; ".join([f"{name} differs from the one its data was sealed with"
                             for name in wrong] + [f"{name} is missing" for name in missing])
                + " (LEDGER_KEYS, LEDGER_KEY_FILE or keys.json in the data directory)")


def _known_fingerprints(tx: Tx) -> dict[str, str]:
    return {row["key_name"]: row["fingerprint"] for row in tx.fetchall(
        "SELECT key_name, fingerprint FROM key_fingerprints")}
