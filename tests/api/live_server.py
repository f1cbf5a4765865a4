"""A real server (uvicorn on a free loopback port) over a real database, for API tests.

The fixtures (``api_app``, ``api_server``, ``api_client``, ``api_log``) live in
tests/conftest.py and call these helpers: a conftest.py here would shadow the
``conftest`` module that other suites import helpers from.
"""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import structlog
import uvicorn
from litestar import Litestar

from api.app import create_app
from api.request_log import configure_logging
from ledger.settings import Settings


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
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def a_client(base_url: str) -> httpx.Client:
    """A client that fails the test on any 5xx: a 500 is a bug, whichever test provokes it."""
    return httpx.Client(base_url=base_url, timeout=30,
                        event_hooks={"response": [_no_server_error]})


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

    info = error = msg
