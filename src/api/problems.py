"""Every refusal as an RFC 9457 problem document, mapped from exceptions in one place.

Domain refusals (``LedgerError`` subclasses) get their status from
``STATUS_BY_ERROR``; Litestar's own HTTP exceptions (routing, body parsing,
request validation, size limit) keep their status and get a stable code. A database
that does not answer (down, restarting, its connections dropped, the pool exhausted) is
503 ``database-unavailable`` with ``Retry-After``, not a bug: the same request may be sent
again (a command with the same ``Idempotency-Key``, which is given back, not kept). Anything
else is a bug: it is logged with its traceback and answered 500
``internal-error``.
"""

import re
from http import HTTPStatus
from typing import Any

import eventsourcing.persistence
import msgspec
import psycopg
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.types import ExceptionHandlersMap

from api.civil_registry import RegistryNotConfigured
from api.idempotency import RETRY_AFTER_S, IdempotencyKeyInFlight, IdempotencyKeyReused
from api.privacy import mask_text
from ledger.errors import (
    AlreadyEnrolled,
    AlreadyTerminated,
    BillAlreadyIssued,
    BillNotFound,
    ClaimNotFound,
    ClaimStateConflict,
    ConcurrencyConflict,
    ImportRejected,
    InvalidInput,
    KeysUnusable,
    KpjInUse,
    LedgerError,
    LogTampered,
    MembershipLapsed,
    MissingDocuments,
    NotEnrolled,
    NotMatched,
    OutsideCoverageWindow,
    OutsideRegion,
    OverAgeCap,
    ParticipantNotFound,
    PaymentAlreadyReversed,
    PaymentExceedsBill,
    PaymentNotFound,
    PayoutExceedsApproved,
    PersonalDataUnreadable,
    ProgramAlreadyOpen,
    ProgramNotFound,
    QuotaFull,
    RebuildUnderWay,
    ReferenceAlreadyUsed,
    RefundNotDue,
    RoleForbidden,
    StreamNotFound,
    TokenNotFound,
    Unauthenticated,
)

PROBLEM_TYPE_BASE = "https://pekerja-rentan-ledger.id/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

STATUS_BY_ERROR: dict[type[LedgerError], int] = {
    InvalidInput: 400,
    ImportRejected: 400,
    Unauthenticated: 401,
    RoleForbidden: 403,
    OutsideRegion: 403,
    ProgramNotFound: 404,
    StreamNotFound: 404,
    ParticipantNotFound: 404,
    BillNotFound: 404,
    PaymentNotFound: 404,
    ClaimNotFound: 404,
    TokenNotFound: 404,
    ProgramAlreadyOpen: 409,
    NotMatched: 409,
    AlreadyEnrolled: 409,
    KpjInUse: 409,
    AlreadyTerminated: 409,
    QuotaFull: 409,
    LogTampered: 409,
    RebuildUnderWay: 409,
    ConcurrencyConflict: 409,
    RegistryNotConfigured: 409,
    BillAlreadyIssued: 409,
    ReferenceAlreadyUsed: 409,
    PaymentAlreadyReversed: 409,
    NotEnrolled: 409,
    MembershipLapsed: 409,
    ClaimStateConflict: 409,
    IdempotencyKeyInFlight: 409,
    OverAgeCap: 422,
    OutsideCoverageWindow: 422,
    PaymentExceedsBill: 422,
    RefundNotDue: 422,
    MissingDocuments: 422,
    PayoutExceedsApproved: 422,
    IdempotencyKeyReused: 422,
    KeysUnusable: 503,
    PersonalDataUnreadable: 503,
}

RETRYABLE: tuple[type[LedgerError], ...] = (ConcurrencyConflict, IdempotencyKeyInFlight)
"""Refusals of a moment: answered with ``Retry-After``, and the same request may be sent again
(a conflict's loser is decided again on fresh state; an idempotency key is never kept for
them, docs/commands.md)."""

DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    eventsourcing.persistence.OperationalError,  # what the library maps psycopg's and
    eventsourcing.persistence.InterfaceError,    # sqlite3's connection failures to
    psycopg.OperationalError,  # our own connections (a rebuild's session, the migration
    psycopg.InterfaceError,    # check); psycopg_pool.PoolTimeout is one of these
)
"""A database that does not answer just now: 503, not a bug."""

CODE_BY_HTTP_STATUS: dict[int, str] = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    413: "request-too-large",
}

_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_AT_PATH = re.compile(r"at `\$\.([^`.\[]+)")
_AT_BODY_PART = re.compile(r"at `\$\.data\.([^`.\[]+)")

_log = structlog.get_logger("api")


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str
    field: str | None = None


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the refusals a route may answer (instead of Litestar's default
    400 schema, which is not the shape of our problem documents), and the 503 any route
    answers while the database or the personal-data keys are unavailable."""
    return {status: ResponseSpec(Problem, description=HTTPStatus(status).phrase,
                                 media_type=PROBLEM_MEDIA_TYPE, generate_examples=False)
            for status in (*statuses, 503)}


READ_PROBLEMS = problem_responses(400, 401, 403, 404)
COMMAND_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422)


def problem(request: Request, status: int, code: str, detail: str, field: str | None = None,
            headers: dict[str, str] | None = None) -> Response[Problem]:
    body = Problem(type=PROBLEM_TYPE_BASE + code, title=code.replace("-", " ").capitalize(),
                   status=status, detail=mask_text(detail), code=code,
                   instance=mask_text(request.url.path), field=field)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _ledger_error(request: Request, exc: LedgerError) -> Response[Problem]:
    status = next((STATUS_BY_ERROR[cls] for cls in type(exc).__mro__ if cls in STATUS_BY_ERROR),
                  None)
    if status is None:
        return _internal_error(request, exc)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if isinstance(exc, RETRYABLE) else None
    if isinstance(exc, Unauthenticated):
        headers = {"WWW-Authenticate": 'Bearer realm="pekerja-rentan-ledger"'}  # RFC 6750
    return problem(request, status, exc.code, exc.detail, exc.field, headers)


def _validation_error(request: Request, exc: ValidationException) -> Response[Problem]:
    errors: list[dict[str, Any]] = exc.extra if isinstance(exc.extra, list) else []
    messages = [str(error.get("message", "")) for error in errors]
    detail = "; ".join(m for m in messages if m) or str(exc.detail)
    field = next((f for f in map(_field_of_error, errors) if f), None)
    return problem(request, 400, InvalidInput.code, detail, field)


def _field_of_error(error: dict[str, Any]) -> str | None:
    """Litestar's ``key`` is the parameter name, or ``data`` for the whole body."""
    key = error.get("key")
    return offending_field(str(error.get("message", ""))) or (key if key != "data" else None)


def offending_field(message: str) -> str | None:
    """The top-level field a msgspec message blames: a missing one is named in the message,
    a wrong one in its path, e.g. "Expected `int`, got `str` - at `$.quota_total`"."""
    match = _MISSING_FIELD.search(message) or _AT_PATH.search(message)
    return match.group(1) if match else None


def _http_error(request: Request, exc: HTTPException) -> Response[Problem]:
    if exc.status_code >= 500:
        if field := _form_part_not_converted(exc):
            return problem(request, 400, InvalidInput.code,
                           f"{field} is not what this route takes: {exc.__cause__}", field)
        return _internal_error(request, exc)
    code = CODE_BY_HTTP_STATUS.get(exc.status_code, "bad-request")
    detail = str(exc.detail)
    if exc.status_code == 413:
        limit = request.route_handler.resolve_request_max_body_size()
        detail = f"the request body is over the {limit:,} bytes this route accepts"
    return problem(request, exc.status_code, code, detail, headers=exc.headers)


def _form_part_not_converted(exc: HTTPException) -> str | None:
    """The form part that Litestar could not convert to the route's type, e.g. a text part
    where the struct declares an UploadFile. Litestar answers that with a bare 500, having
    failed to find the culprit again (litestar/_signature/model.py); the msgspec error it
    raises from names it, under the request body (``$.data``), not a dependency."""
    if not isinstance(exc.__cause__, msgspec.ValidationError):
        return None
    match = _AT_BODY_PART.search(str(exc.__cause__))
    return match.group(1) if match else None


def _database_unavailable(request: Request, exc: Exception) -> Response[Problem]:
    # Logged without the traceback: the database's own log says why it went away.
    _log.warning("database-unavailable", route=request.scope.get("path_template"),
                 error=type(exc).__name__)
    return problem(request, 503, "database-unavailable",
                   "the database does not answer just now; retry the same request (with the "
                   "same Idempotency-Key for a command) shortly",
                   headers={"Retry-After": str(RETRY_AFTER_S)})


def _text_not_utf8(request: Request, exc: UnicodeDecodeError) -> Response[Problem]:
    # Litestar's multipart parser decodes every text part of a form as UTF-8 and lets the
    # error through (litestar/_multipart.py), before any handler runs: the client's bytes,
    # not a bug. The importers refuse a file's bad encoding themselves (ledger/csvfile.py).
    return problem(request, 400, "bad-request", f"a text part of the form is not UTF-8 "
                   f"({exc.reason} at byte {exc.start})")


def _internal_error(request: Request, exc: Exception) -> Response[Problem]:
    _log.error("internal-error", route=request.scope.get("path_template"),
               exc_info=(type(exc), exc, exc.__traceback__))
    return problem(request, 500, "internal-error",
                   "an unexpected error occurred and was logged; this is a bug, please report "
                   "the X-Request-Id of this response")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    LedgerError: _ledger_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    UnicodeDecodeError: _text_not_utf8,
    **{error: _database_unavailable for error in DATABASE_UNAVAILABLE},
    Exception: _internal_error,
}
