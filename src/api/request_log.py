"""JSON request logs with structlog: one line per request, never personal data.

Each line carries a request id (also returned as ``X-Request-Id``), the method,
the route *template* (``/programs/{program_id}/participants/{participant_id}``,
never the raw path, which may hold ids a clerk typed), the status, the
duration and the actor id.
"""

import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.privacy import mask_text

_log = structlog.get_logger("api.request")


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

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}  # type: ignore[assignment]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self._app(scope, receive, send_with_request_id)
            finally:
                duration_ms = round((time.perf_counter() - started) * 1000, 1)
                _log.info("request", method=scope["method"], route=scope.get("path_template"),
                          status=status, duration_ms=duration_ms,
                          actor_id=_header(scope, b"x-actor-id") or "anonymous")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
