"""The civil-registry port: who Disdukcapil (and optionally P3KE) says a NIK is.

Verification asks this port; it never reads files itself. ``InMemoryRegistry``
is the implementation the file loaders (``ledger.registry_files``) fill from a
CSV extract, and the fake the tests use.
"""

from collections.abc import Iterable
from typing import Protocol

from ledger.verification import RegistryRecord


class CivilRegistry(Protocol):
    source: str
    """A label recorded with each verification, e.g. ``dukcapil:extract-2024-02.csv``."""

    def lookup(self, nik: str) -> RegistryRecord | None: ...

    def in_p3ke(self, nik: str) -> bool: ...


class InMemoryRegistry:
    def __init__(self, source: str, records: Iterable[RegistryRecord] = (),
                 p3ke_niks: Iterable[str] = ()) -> None:
        self.source = source
        self._records = {r.nik: r for r in records}
        self._p3ke = set(p3ke_niks)

    def add(self, record: RegistryRecord) -> None:
        self._records[record.nik] = record

    def add_p3ke(self, nik: str) -> None:
        self._p3ke.add(nik)

    def __len__(self) -> int:
        return len(self._records)

    def lookup(self, nik: str) -> RegistryRecord | None:
        return self._records.get(nik)

    def in_p3ke(self, nik: str) -> bool:
        return nik in self._p3ke
