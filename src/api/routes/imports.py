"""Import uploads: a village's candidate list, a registry extract, a KPJ assignment file.

Litestar streams each multipart file into a spooled temporary file (on disk
past 1 MiB); the importers read files by path, so each upload is copied, in
chunks, into a temporary directory that is removed when the import ends. The
answer is the importer's report: counts, and the first rejected rows.
"""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

import msgspec
from litestar import Controller, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, MultipartBody

from api.file_names import safe_file_name
from api.problems import COMMAND_PROBLEMS
from ledger.csvfile import Rejection
from ledger.errors import ImportRejected, InvalidInput
from ledger.importer import import_candidates, import_kpj, import_registry
from ledger.registry_files import load_registry
from ledger.service import Actor
from ledger.system import System

MAX_UPLOAD_BODY_BYTES = 110 * 1024 * 1024
"""A 100 MB file plus multipart overhead."""

_COPY_CHUNK_BYTES = 1024 * 1024


class CandidatesUpload(msgspec.Struct, kw_only=True):
    file: UploadFile
    """CSV: nik, full_name, birth_date, sex, mother_name, address, village, occupation,
    cohort, submitted_by."""
    registry: UploadFile | None = None
    """Optional Disdukcapil extract: verify the submitted candidates in the same pass."""
    p3ke: UploadFile | None = None
    """Optional P3KE register, only together with ``registry``."""


class RegistryUpload(msgspec.Struct, kw_only=True):
    file: UploadFile
    """Disdukcapil extract: nik, full_name, birth_date, sex, mother_name."""
    p3ke: UploadFile | None = None


class KpjUpload(msgspec.Struct, kw_only=True):
    file: UploadFile
    """KPJ numbers assigned by BPJS TK to matched participants."""
    coverage_start: date
    batch: str


class ImportResult(msgspec.Struct, kw_only=True):
    """What one import did: ``ledger.importer.ImportReport`` without the server's own path
    to the rejection report. A rejection's ``row`` is the row number a spreadsheet shows
    (the header is row 1)."""

    kind: str
    rows: int
    accepted: int
    unchanged: int
    rejected: int
    events_appended: int
    matched: int
    mismatched: int
    enrolled: int
    rejections: list[Rejection]
    """The first 1,000 rejected rows."""
    registry_rows_skipped: int = 0
    """Malformed rows of a registry extract uploaded with a candidate list; import the
    extract on its own (``imports/registry``) to have them reported row by row."""


class ImportController(Controller):
    path = "/programs/{program_id:str}/imports"
    tags = ["imports"]
    request_max_body_size = MAX_UPLOAD_BODY_BYTES

    @post("/candidates", sync_to_thread=True, responses=COMMAND_PROBLEMS, status_code=200,
          summary="Import a village's candidate list (optionally verifying it at once)")
    def candidates(self, program_id: FromPath[str], data: MultipartBody[CandidatesUpload],
                   system: NamedDependency[System],
                   actor: NamedDependency[Actor]) -> ImportResult:
        system.ledger.program(program_id)
        if data.p3ke is not None and data.registry is None:
            raise InvalidInput("a P3KE file is used only with the registry extract it "
                               "complements", field="p3ke")
        skipped: list[object] = []
        with TemporaryDirectory(prefix="ledger-upload-") as tmp:
            registry = None
            if data.registry is not None:
                with _blaming("registry"):
                    registry = load_registry(_saved(data.registry, tmp, "registry"),
                                             _saved(data.p3ke, tmp, "p3ke"),
                                             on_rejected=skipped.append)
            with _blaming("file"):
                report = import_candidates(system, program_id, _saved(data.file, tmp, "file"),
                                           actor, registry=registry)
        return _result(system, report, registry_rows_skipped=len(skipped))

    @post("/registry", sync_to_thread=True, responses=COMMAND_PROBLEMS, status_code=200,
          summary="Verify every candidate awaiting verification against an uploaded extract")
    def registry(self, program_id: FromPath[str], data: MultipartBody[RegistryUpload],
                 system: NamedDependency[System], actor: NamedDependency[Actor]) -> ImportResult:
        system.ledger.program(program_id)
        with TemporaryDirectory(prefix="ledger-upload-") as tmp, _blaming("file"):
            report = import_registry(system, program_id, _saved(data.file, tmp, "file"), actor,
                                     p3ke_path=_saved(data.p3ke, tmp, "p3ke"))
        return _result(system, report)

    @post("/kpj", sync_to_thread=True, responses=COMMAND_PROBLEMS, status_code=200,
          summary="Enroll matched participants with the KPJ numbers BPJS TK assigned")
    def kpj(self, program_id: FromPath[str], data: MultipartBody[KpjUpload],
            system: NamedDependency[System], actor: NamedDependency[Actor]) -> ImportResult:
        system.ledger.program(program_id)
        with TemporaryDirectory(prefix="ledger-upload-") as tmp, _blaming("file"):
            report = import_kpj(system, program_id, _saved(data.file, tmp, "file"), actor,
                                coverage_start=data.coverage_start, batch=data.batch)
        return _result(system, report)


def _saved(upload: UploadFile | None, directory: str, field: str) -> Path | None:
    """Copy an upload to ``directory/field/<its file name>``, keeping the name: a registry
    extract's name is recorded as the source of every verification it decides."""
    if upload is None:
        return None
    name = safe_file_name(Path(upload.filename or "").name).lstrip(".")
    path = Path(directory) / field / (name or f"{field}.csv")
    path.parent.mkdir()
    upload.file.seek(0)
    with path.open("wb") as copy:
        shutil.copyfileobj(upload.file, copy, _COPY_CHUNK_BYTES)
    return path


@contextmanager
def _blaming(field: str) -> Iterator[None]:
    """A whole-file refusal names the form field of the file it is about (the importer's
    field is a part of the CSV, such as ``_header``; its detail says what is wrong there)."""
    try:
        yield
    except ImportRejected as error:
        error.field = field
        raise


def _result(system: System, report: msgspec.Struct,
            registry_rows_skipped: int = 0) -> ImportResult:
    system.projections.catch_up()
    result = msgspec.convert(msgspec.to_builtins(report), ImportResult)
    result.registry_rows_skipped = registry_rows_skipped
    return result
