"""JSON request logs with structlog: one line per request, never personal data.

Each line carries a request id (also returned as ``X-Request-Id``), the method,
the route *template* (``/programs/{program_id}/participants/{participant_id}``,
never the raw path, which may hold ids a clerk typed), the status, the
duration, who asked (actor id, role, region codes), the command (the route
handler's name, for anything but a read) and the ids of the streams the path
names. Those ids are left out of a 400, 401 or 404 line: an id the ledger did
not know, or did not look up, may be anything typed in its place, perhaps a name.

The same wrapper counts commands and times requests for ``/metrics``.
"""

import time
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import Metrics
from api.privacy import mask_text
from api.problems import PROBLEM_MEDIA_TYPE

_log = structlog.get_logger("api.request")

READS = frozenset({"GET", "HEAD", "OPTIONS"})
STREAM_PARAMS = ("program_id", "participant_id", "claim_id", "bill_id")


def configure_logging(logger_factory: Callable[..., Any] | None = None) -> None:
    """JSON lines on stdout (or to ``logger_factory``'s loggers), unless the host program
    (the CLI, a test) configured structlog already."""
    if structlog.is_configured():
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Locals of a failing frame would hold candidates' personal data.
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)),
            structlog.processors.JSONRenderer(),
            _mask_niks,
        ],
        # No file and no caching: sys.stdout is looked up when logging, so a stdout
        # redirected later (a daemon, pytest's capture) is honoured.
        logger_factory=logger_factory or structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )


def _mask_niks(_: Any, __: str, line: str) -> str:
    """Last line of defence: an exception message quoting a NIK is masked too."""
    return mask_text(line)


class RequestLog:
    """Wraps the whole Litestar ASGI handler, router included, so that requests for unknown
    routes (404, 405) are logged and carry a request id like every other."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering
        problem_code: str | None = None
        is_problem = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, problem_code, is_problem
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}  # type: ignore[assignment]
                is_problem = (dict(headers).get(b"content-type", b"")
                              .startswith(PROBLEM_MEDIA_TYPE.encode()))
            elif message["type"] == "http.response.body" and is_problem and not problem_code:
                problem_code = _problem_code(message.get("body", b""))
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self._app(scope, receive, send_with_request_id)
            finally:
                duration_s = time.perf_counter() - started
                route, command = scope.get("path_template"), _command(scope)
                _log.info("request", method=scope["method"], route=route, status=status,
                          duration_ms=round(duration_s * 1000, 1), **_caller(scope),
                          command=command, **_stream_ids(scope, status))
                # Unmatched paths share one label: a label per raw path would let any
                # client grow the metrics without bound.
                self._metrics.observe_request(scope["method"], route or "(unmatched)",
                                              duration_s)
                if command:
                    self._metrics.count_command(command, problem_code or f"{status // 100}xx")


def _caller(scope: Scope) -> dict[str, Any]:
    """Who asked: the caller the auth guard put on ``request.state.caller``; nobody on a
    public route or a request refused before its token was known."""
    caller = scope.get("state", {}).get("caller")
    if caller is None:
        return {"actor_id": "anonymous", "role": None, "regions": []}
    return {"actor_id": caller.actor_id, "role": caller.role,
            "regions": sorted(caller.regions)}


def _command(scope: Scope) -> str | None:
    """The handler's name for a write that reached one (``enroll``, ``approve``)."""
    handler = scope.get("route_handler")
    if handler is None or scope["method"] in READS or scope.get("path_template") is None:
        return None
    return handler.handler_name


def _stream_ids(scope: Scope, status: int) -> dict[str, str]:
    if status in (400, 401, 404):
        return {}
    params = scope.get("path_params", {})
    return {name: str(params[name]) for name in STREAM_PARAMS if name in params}


def _problem_code(body: bytes) -> str:
    """The ``code`` of a problem document (sent whole, in one body message)."""
    try:
        return str(msgspec.json.decode(body).get("code") or "problem")
    except (msgspec.DecodeError, AttributeError):
        return "problem"
