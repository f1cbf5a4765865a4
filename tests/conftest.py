"""Shared test fixtures.

PostgreSQL is resolved once per test session, in this order, and never skipped:

1. ``LEDGER_TEST_DATABASE_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``);
2. a testcontainers ``PostgresContainer``, if a Docker engine answers;
3. a throwaway server started with the ``pgserver`` package.

If none of them works the tests that need PostgreSQL fail with the reasons.
Each test then gets its own freshly created database on that server.

``unittest.TestCase`` classes can't take fixtures, so they use the plain helpers
``postgres_server_url()`` and ``fresh_postgres_database()`` from this module
(``from conftest import fresh_postgres_database``); they share the same server.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

DATABASE_URL_ENV = "LEDGER_TEST_DATABASE_URL"

# ---------------------------------------------------------------------------
# PostgreSQL server resolution (session-wide, lazily, shared by fixtures and helpers)
# ---------------------------------------------------------------------------


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server could be found or started for the tests."""


_server_url: str | None = None
_server_error: PostgresUnavailableError | None = None  # resolve (and fail) only once
# Stops a container / pgserver started by this session (closed at session end).
_server_cleanup = contextlib.ExitStack()


def _docker_engine_answers() -> bool:
    try:
        import docker  # installed with testcontainers
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _start_testcontainer() -> str:
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer("postgres:16-alpine", driver=None)
    container.start()
    _server_cleanup.callback(container.stop)
    return container.get_connection_url()


def _start_pgserver() -> str:
    with warnings.catch_warnings():
        # pgserver's platformdirs warns when XDG_RUNTIME_DIR is unset (it copes).
        warnings.simplefilter("ignore")
        import pgserver

    tmpdir = Path(tempfile.mkdtemp(prefix="ledger-pgserver-"))
    # Registered first so it runs last: after the server has stopped.
    _server_cleanup.callback(shutil.rmtree, tmpdir, ignore_errors=True)
    server = pgserver.get_server(tmpdir / "pgdata", cleanup_mode="stop")
    _server_cleanup.callback(server.cleanup)
    # A unix-socket URI: postgresql://postgres:@/postgres?host=/tmp/.../pgdata
    return server.get_uri()


def _check_connects(url: str) -> str:
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT 1")
    return url


def postgres_server_url() -> str:
    """URL of the admin database of this session's PostgreSQL server.

    Raises PostgresUnavailableError (never skips) if no server can be had.
    """
    global _server_url, _server_error
    if _server_url is None and _server_error is None:
        try:
            _server_url = _resolve_server_url()
        except PostgresUnavailableError as e:
            _server_error = e
    if _server_error is not None:
        raise _server_error
    assert _server_url is not None
    return _server_url


def _resolve_server_url() -> str:
    configured = os.environ.get(DATABASE_URL_ENV)
    if configured:
        # An explicit choice: if it is broken, say so rather than fall back.
        try:
            return _check_connects(configured)
        except psycopg.Error as e:
            raise PostgresUnavailableError(
                f"{DATABASE_URL_ENV}={configured!r} is set but can't be used: {e}"
            ) from e

    failures = [f"{DATABASE_URL_ENV} is not set"]
    if _docker_engine_answers():
        try:
            return _check_connects(_start_testcontainer())
        except Exception as e:
            failures.append(f"testcontainers PostgresContainer failed: {e!r}")
    else:
        failures.append("no Docker engine answers, so no testcontainers")
    try:
        return _check_connects(_start_pgserver())
    except Exception as e:
        failures.append(f"pgserver failed: {e!r}")
    _server_cleanup.close()
    raise PostgresUnavailableError(
        "No PostgreSQL server for the tests: "
        + "; ".join(failures)
        + f". Set {DATABASE_URL_ENV}=postgresql://user:pass@host:port/dbname to use one."
    )


def _with_dbname(url: str, dbname: str) -> str:
    # Keep user, password, host, port and query (pgserver puts its socket dir
    # in ?host=...), swap only the database path.
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create a uniquely named empty database, yield its URL, drop it afterwards."""
    admin_url = postgres_server_url()
    dbname = f"ledger_t_{uuid.uuid4().hex}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        yield _with_dbname(admin_url, dbname)
    finally:
        # FORCE: a pool left open by a failing test must not keep the database alive.
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )


# ---------------------------------------------------------------------------
# Hooks
# ---------------------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _server_cleanup.close()


# Also when the helpers are used outside pytest (closing twice is harmless).
atexit.register(_server_cleanup.close)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Whatever asks for a PostgreSQL fixture runs against PostgreSQL, so that
    # `-m "not postgres"` deselects it without every test having to say so.
    for item in items:
        if {"pg_url", "pg_server_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


# ---------------------------------------------------------------------------
# Database fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of the PostgreSQL server's admin database (see module docstring)."""
    return postgres_server_url()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a not-yet-existing SQLite file in the test's tmp_path."""
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture(
    params=[
        pytest.param("sqlite_url", id="sqlite"),
        pytest.param("pg_url", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    """The same store contract test, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(request.param)


# ---------------------------------------------------------------------------
# HTTP API fixtures (tests/api): a real server over a real database
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def api_log() -> Iterator[list[str]]:
    """Lines logged by the API servers of the session (see tests/api/live_server.py)."""
    from tests.api.live_server import captured_log

    with captured_log() as lines:
        yield lines


@pytest.fixture
def api_registry_csv(tmp_path: Path) -> Path:
    """Where the API server looks for its Disdukcapil extract; tests write it as needed."""
    return tmp_path / "dukcapil-7174-2024-02.csv"


@pytest.fixture
def api_app(db_url: str, tmp_path: Path, api_log: list[str]):
    """``create_app`` over ``db_url``: call it with create_app's keyword arguments."""
    from tests.api.live_server import app_factory

    return app_factory(db_url, tmp_path)


@pytest.fixture
def api_server(api_app, api_registry_csv: Path) -> Iterator[str]:
    """Base URL of a running API server with a registry extract configured."""
    from tests.api.live_server import running

    with running(api_app(registry_path=api_registry_csv)) as base_url:
        yield base_url


@pytest.fixture
def api_client(api_server: str):
    """An httpx client of ``api_server`` that fails the test on any 5xx."""
    from tests.api.live_server import a_client

    with a_client(api_server) as client:
        yield client
