"""A real server (uvicorn on a free loopback port) over a real database, for API tests.

Every server gets one national token per role when it starts; a client from ``a_client``
sends, on each request that carries no Authorization of its own, the token of the first
role the permission table allows on the route (api/access.py). Tests of other things thus
act as whoever's job it is; tests/api/test_access.py proves the refusals.

The fixtures (``api_app``, ``api_server``, ``api_client``, ``api_log``) live in
tests/conftest.py and call these helpers: a conftest.py here would shadow the
``conftest`` module that other suites import helpers from.
"""

import re
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import structlog
import uvicorn
from litestar import Litestar

from api.access import PERMISSIONS, allowed_roles
from api.app import create_app
from api.request_log import configure_logging
from ledger.settings import Settings
from ledger.tokens import (
    ADMIN,
    AUDITOR,
    CLAIMS_OFFICER,
    ENROLLMENT_CLERK,
    FINANCE_OFFICER,
    NATIONAL,
    create_token,
    utc_now,
)

HOLDERS = {ENROLLMENT_CLERK: "clerk-gogagoman", FINANCE_OFFICER: "finance-kotamobagu",
           CLAIMS_OFFICER: "claims-kotamobagu", AUDITOR: "inspektorat", ADMIN: "admin-bappeda"}
"""The holder of each role's token: the actor id on what that role records."""
_SECRETS: dict[str, dict[str, str]] = {}
"""Each running server's base URL -> role -> token secret."""


def app_factory(db_url: str, data_dir: Path) -> Callable[..., Litestar]:
    """``create_app`` over the test's database; keyword arguments are further Settings."""
    def make(**settings) -> Litestar:
        return create_app(Settings(database_url=db_url, data_dir=data_dir, **settings))

    return make


@contextmanager
def running(app: Litestar) -> Iterator[str]:
    """Serve ``app`` in a background thread; yield its base URL."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it every keep-alive response waits for a delayed ACK (40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start (see the log above)")
        time.sleep(0.01)
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    _SECRETS[base_url] = {role: create_token(app.state.system.storage.db, holder, role,
                                             [NATIONAL], 1, utc_now())[1]
                          for role, holder in HOLDERS.items()}
    try:
        yield base_url
    finally:
        del _SECRETS[base_url]
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def a_client(base_url: str) -> httpx.Client:
    """A client that fails the test on any 5xx: a 500 is a bug, whichever test provokes it.
    It acts in the role whose job each route is (see the module's docstring)."""
    return httpx.Client(base_url=base_url, timeout=30, auth=RoleOfRoute(base_url),
                        event_hooks={"response": [_no_server_error]})


def secret_of(base_url: str, role: str) -> str:
    """The national token of ``role`` on the server at ``base_url``."""
    return _SECRETS[base_url][role]


class RoleOfRoute(httpx.Auth):
    def __init__(self, base_url: str) -> None:
        self._base_url = base_url

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        template = route_template(request.method, request.url.path)
        roles = allowed_roles(request.method, template) if template else ()
        if roles and "authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {secret_of(self._base_url, roles[0])}"
        yield request


def route_template(method: str, path: str) -> str | None:
    """The permission table's template that ``path`` is an instance of; a literal segment
    (``/bills/import``) wins over a parameter (``/bills/{bill_id}``)."""
    templates = sorted((t for m, t in PERMISSIONS if m == method), key=lambda t: t.count("{"))
    return next((t for t in templates
                 if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", t), path)), None)


def _no_server_error(response: httpx.Response) -> None:
    if response.status_code >= 500:
        response.read()
        raise AssertionError(f"{response.request.method} {response.request.url} answered "
                             f"{response.status_code}: {response.text}")


@contextmanager
def captured_log() -> Iterator[list[str]]:
    """Every line the servers log, rendered as in production, so that tests can look for
    personal data in them. A server logs a request after answering it: a line may trail."""
    lines: list[str] = []
    structlog.reset_defaults()
    configure_logging(lambda *_: _LineLogger(lines))
    try:
        yield lines
    finally:
        structlog.reset_defaults()


class _LineLogger:
    def __init__(self, lines: list[str]) -> None:
        self._lines = lines

    def msg(self, line: str) -> None:
        self._lines.append(line)

    info = warning = error = msg
