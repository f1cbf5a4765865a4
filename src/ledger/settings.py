"""Settings, read once from the environment by the entry points (CLI, app factory).

LEDGER_DATABASE_URL   postgresql://user:pass@host:port/db or sqlite:///path;
                      unset: a SQLite file in the data directory
LEDGER_DATA_DIR       where the embedded database and reports go
                      (default: $XDG_DATA_HOME/pekerja-rentan-ledger, else
                      ~/.local/share/pekerja-rentan-ledger)
LEDGER_DB_POOL_SIZE   connections per process (default 5)
LEDGER_MIGRATIONS_DIR where migrations/ is, for installed images (storage.py)
LEDGER_REGISTRY_PATH  civil-registry extract CSV the API verifies against
LEDGER_P3KE_PATH      optional P3KE extract CSV (a nik column)
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import InvalidInput
from ledger.storage import dialect_of

APP_DIR_NAME = "pekerja-rentan-ledger"
ENV_VARS = (
    "LEDGER_DATABASE_URL", "LEDGER_DATA_DIR", "LEDGER_DB_POOL_SIZE", "LEDGER_MIGRATIONS_DIR",
    "LEDGER_REGISTRY_PATH", "LEDGER_P3KE_PATH",
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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        data_dir = Path(env.get("LEDGER_DATA_DIR") or _default_data_dir(env)).expanduser()
        url = env.get("LEDGER_DATABASE_URL") or f"sqlite:///{data_dir / 'ledger.sqlite'}"
        dialect_of(url)
        pool_size = env.get("LEDGER_DB_POOL_SIZE", "5")
        if not pool_size.isdigit() or int(pool_size) < 1:
            raise InvalidInput("LEDGER_DB_POOL_SIZE must be a positive integer",
                               field="LEDGER_DB_POOL_SIZE")
        registry, p3ke = env.get("LEDGER_REGISTRY_PATH"), env.get("LEDGER_P3KE_PATH")
        return cls(database_url=url, data_dir=data_dir, pool_size=int(pool_size),
                   registry_path=Path(registry) if registry else None,
                   p3ke_path=Path(p3ke) if p3ke else None)

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
