"""The civil-registry extract the server verifies single participants against.

Settings.registry_path (LEDGER_REGISTRY_PATH) is the Disdukcapil CSV extract
(nik,full_name,birth_date,sex,mother_name); Settings.p3ke_path (LEDGER_P3KE_PATH)
the optional extreme-poverty register (P3KE) that P3KE cohorts are checked against.

The extract is loaded on first use, not at startup (a server that never
verifies one participant at a time needs none), and loaded again whenever a
file's modification time changes, so an operator can drop a newer extract in
place without a restart.
"""

import threading
from pathlib import Path

from ledger.errors import ImportRejected, LedgerError
from ledger.registry import CivilRegistry
from ledger.registry_files import load_registry

HOW_TO_CONFIGURE = (
    "set LEDGER_REGISTRY_PATH to the Disdukcapil CSV extract (columns nik, full_name, "
    "birth_date, sex, mother_name) and optionally LEDGER_P3KE_PATH to the P3KE register, "
    "then restart the server; or upload the extract to POST /programs/{program_id}/imports/registry"
)


class RegistryNotConfigured(LedgerError):
    """The server has no usable civil-registry extract to verify against."""

    code = "registry-not-configured"


class RegistrySource:
    def __init__(self, path: Path | None, p3ke_path: Path | None) -> None:
        self._path, self._p3ke_path = path, p3ke_path
        self._lock = threading.Lock()
        self._loaded: tuple[tuple[int, ...], CivilRegistry] | None = None

    def get(self) -> CivilRegistry:
        if self._path is None:
            raise RegistryNotConfigured(f"no civil-registry extract is configured: "
                                        f"{HOW_TO_CONFIGURE}")
        # One load at a time: two verifications arriving together must not both read 100 MB.
        with self._lock:
            stamp = self._stamp()
            if self._loaded is None or self._loaded[0] != stamp:
                try:
                    registry = load_registry(self._path, self._p3ke_path)
                except ImportRejected as error:
                    raise RegistryNotConfigured(
                        f"the configured civil-registry extract cannot be used: {error.detail}"
                    ) from error
                self._loaded = (stamp, registry)
            return self._loaded[1]

    def _stamp(self) -> tuple[int, ...]:
        paths = [p for p in (self._path, self._p3ke_path) if p is not None]
        try:
            return tuple(p.stat().st_mtime_ns for p in paths)
        except FileNotFoundError as error:
            raise RegistryNotConfigured(
                f"the configured extract {Path(error.filename).name} does not exist: "
                f"{HOW_TO_CONFIGURE}"
            ) from None
