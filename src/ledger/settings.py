"""Settings, read once from the environment by the entry points (CLI, app factory).

LEDGER_DATABASE_URL   postgresql://user:pass@host:port/db or sqlite:///path;
                      unset: a SQLite file in the data directory
LEDGER_DATA_DIR       where the embedded database and reports go
                      (default: $XDG_DATA_HOME/pekerja-rentan-ledger, else
                      ~/.local/share/pekerja-rentan-ledger)
LEDGER_MIGRATION_DATABASE_URL
                      PostgreSQL only: the tables' owner, who runs the migrations, when
                      LEDGER_DATABASE_URL is the service's role (docs/audit.md)
LEDGER_DB_POOL_SIZE   connections per process (default 5)
LEDGER_MIGRATIONS_DIR where migrations/ is, for installed images (storage.py)
LEDGER_REGISTRY_PATH  civil-registry extract CSV the API verifies against
LEDGER_P3KE_PATH      optional P3KE extract CSV (a nik column)
LEDGER_KEYS           the personal-data key file's JSON itself (secrets from the
                      environment); else
LEDGER_KEY_FILE       path of the key file; with neither, keys.json in the data
                      directory, made on first use (ledger/personal_data.py)
LEDGER_READY_MAX_LAG  events the slowest projection may be behind the log before
                      GET /ready answers 503 (default 10000)
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ledger.errors import InvalidInput
from ledger.storage import dialect_of

APP_DIR_NAME = "pekerja-rentan-ledger"
ENV_VARS = (
    "LEDGER_DATABASE_URL", "LEDGER_DATA_DIR", "LEDGER_DB_POOL_SIZE", "LEDGER_MIGRATIONS_DIR",
    "LEDGER_MIGRATION_DATABASE_URL",
    "LEDGER_REGISTRY_PATH", "LEDGER_P3KE_PATH", "LEDGER_KEYS", "LEDGER_KEY_FILE",
    "LEDGER_READY_MAX_LAG",
)
"""Every environment variable the ledger reads (the deployment test checks against it)."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    pool_size: int = 5
    registry_path: Path | None = None
    """The civil-registry extract single-participant verification uses (API)."""
    p3ke_path: Path | None = None
    keys_json: str | None = field(default=None, repr=False)
    """Secret: never printed with the settings."""
    key_file: Path | None = None
    migration_url: str | None = field(default=None, repr=False)
    """Where migrations run (a secret, as a URL with a password); None: database_url."""
    ready_max_lag: int = 10_000
    """Projection lag (events) past which the API is not ready: a stuck or dead worker,
    not a busy one catching up after an import."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        data_dir = Path(env.get("LEDGER_DATA_DIR") or _default_data_dir(env)).expanduser()
        url = env.get("LEDGER_DATABASE_URL") or f"sqlite:///{data_dir / 'ledger.sqlite'}"
        dialect_of(url)
        migration_url = env.get("LEDGER_MIGRATION_DATABASE_URL") or None
        if migration_url and not all(u.startswith(("postgresql://", "postgres://"))
                                     for u in (url, migration_url)):
            raise InvalidInput("LEDGER_MIGRATION_DATABASE_URL and LEDGER_DATABASE_URL must "
                               "both be postgresql:// URLs: SQLite has no roles",
                               field="LEDGER_MIGRATION_DATABASE_URL")
        pool_size = env.get("LEDGER_DB_POOL_SIZE", "5")
        if not pool_size.isdigit() or int(pool_size) < 1:
            raise InvalidInput("LEDGER_DB_POOL_SIZE must be a positive integer",
                               field="LEDGER_DB_POOL_SIZE")
        registry, p3ke = env.get("LEDGER_REGISTRY_PATH"), env.get("LEDGER_P3KE_PATH")
        key_file = env.get("LEDGER_KEY_FILE")
        ready_max_lag = env.get("LEDGER_READY_MAX_LAG", "10000")
        if not ready_max_lag.isdigit():
            raise InvalidInput("LEDGER_READY_MAX_LAG must be a whole number of events",
                               field="LEDGER_READY_MAX_LAG")
        return cls(database_url=url, data_dir=data_dir, pool_size=int(pool_size),
                   registry_path=Path(registry) if registry else None,
                   p3ke_path=Path(p3ke) if p3ke else None,
                   keys_json=env.get("LEDGER_KEYS") or None,
                   key_file=Path(key_file).expanduser() if key_file else None,
                   migration_url=migration_url, ready_max_lag=int(ready_max_lag))

    @property
    def redacted_url(self) -> str:
        """The database URL without its password, fit to print."""
        scheme, sep, rest = self.database_url.partition("://")
        credentials, at, host = rest.rpartition("@")
        if not at or ":" not in credentials:
            return self.database_url
        return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def _default_data_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR_NAME
