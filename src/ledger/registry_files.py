"""Civil-registry extracts as files: fill the ``CivilRegistry`` port from CSV.

A Disdukcapil extract has the columns nik, full_name, birth_date, sex and
mother_name (more are ignored); a P3KE extract needs only nik. An extract
holds a region's population, so it is indexed once (in memory while small,
on disk once large: ``registry_index``) and every candidate is matched
against it. A malformed row cannot be matched against, so it is skipped and
handed to ``on_rejected`` so the import can report it.
"""

from collections.abc import Callable
from pathlib import Path

from ledger.csvfile import CsvRows, Rejection, Row, parse_date, parse_nik, parse_sex, required
from ledger.errors import InvalidInput
from ledger.registry_index import ExtractRegistry
from ledger.verification import RegistryRecord

REGISTRY_COLUMNS = ("nik", "full_name", "birth_date", "sex", "mother_name")
P3KE_COLUMNS = ("nik",)

OnRejected = Callable[[Rejection], None]


def load_registry(path: Path, p3ke_path: Path | None = None, *,
                  on_rejected: OnRejected | None = None,
                  progress: bool = False) -> ExtractRegistry:
    """The extract at ``path`` (and P3KE membership from ``p3ke_path``), labelled
    ``dukcapil:<file name>`` in every verification it decides."""
    refuse = on_rejected or (lambda _: None)
    registry = ExtractRegistry(f"dukcapil:{path.name}")
    with CsvRows(path, REGISTRY_COLUMNS, progress=progress) as rows:
        for item in rows:
            record = _record(item)
            if isinstance(record, Rejection):
                refuse(record)
            elif not registry.add(record):
                # Keep the first: a second row for one NIK is the extract's error, not a fix.
                refuse(Rejection(item.number, "nik", "the NIK already appears in an earlier "
                                                     "row of this extract; the first is kept"))
    if p3ke_path is not None:
        _load_p3ke(registry, p3ke_path, refuse, progress)
    return registry


def _record(item: Row | Rejection) -> RegistryRecord | Rejection:
    if isinstance(item, Rejection):
        return item
    values = item.values
    try:
        return RegistryRecord(
            nik=parse_nik(values), full_name=required(values, "full_name"),
            birth_date=parse_date(values, "birth_date"), sex=parse_sex(values),
            mother_name=required(values, "mother_name"))
    except InvalidInput as error:
        return Rejection(item.number, error.field or "_line", error.detail)


def _load_p3ke(registry: ExtractRegistry, path: Path, refuse: OnRejected,
               progress: bool) -> None:
    with CsvRows(path, P3KE_COLUMNS, progress=progress) as rows:
        for item in rows:
            if isinstance(item, Rejection):
                refuse(_in_p3ke_file(item))
                continue
            try:
                registry.add_p3ke(parse_nik(item.values))
            except InvalidInput as error:
                refuse(_in_p3ke_file(Rejection(item.number, "nik", error.detail)))


def _in_p3ke_file(rejection: Rejection) -> Rejection:
    """P3KE rows share the report with the extract's; the reason says which file."""
    return Rejection(rejection.row, rejection.field, f"P3KE file: {rejection.reason}")
