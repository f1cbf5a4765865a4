"""The PostgreSQL server the tests use, resolved once per session, never skipped.

In this order: ``LEDGER_TEST_DATABASE_URL`` (e.g.
``postgresql://postgres@127.0.0.1:5432/test``); a testcontainers
``PostgresContainer`` if a Docker engine answers; a throwaway server started
with the ``pgserver`` package. If none works, the tests that need PostgreSQL
fail with the reasons. ``fresh_postgres_database()`` gives each test its own
empty database on that server; fixtures and ``unittest.TestCase`` classes
(which cannot take fixtures) both use it. ``as_service_role()`` migrates one as
its owner and gives the URL the service would use in production: a login role
that is a member of ``ledger_service`` (docs/audit.md).
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
from psycopg import sql

from ledger.storage import migrate

DATABASE_URL_ENV = "LEDGER_TEST_DATABASE_URL"
SERVICE_LOGIN = "ledger_test_app"

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


# Roles are cluster-wide and shared by every test session on the server, maybe running
# at once: made if missing (a concurrent CREATE ROLE or GRANT of the same one fails on
# a unique index), never dropped.
_ENSURE_SERVICE_LOGIN = sql.SQL("""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {login}) THEN
        CREATE ROLE {role} LOGIN PASSWORD {login} IN ROLE ledger_service;
    ELSIF NOT pg_has_role({login}, 'ledger_service', 'MEMBER') THEN
        GRANT ledger_service TO {role};
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$""").format(login=sql.Literal(SERVICE_LOGIN), role=sql.Identifier(SERVICE_LOGIN))


def as_service_role(owner_url: str) -> str:
    """Migrate the database of ``owner_url`` as its owner (which makes ledger_service)
    and return its URL for ``SERVICE_LOGIN``, a login member of ledger_service."""
    migrate(owner_url)
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(_ENSURE_SERVICE_LOGIN)
    parts = urlsplit(owner_url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{SERVICE_LOGIN}:{SERVICE_LOGIN}@{host}"))


def stop_server() -> None:
    """Stop a container or pgserver this session started (closing twice is harmless)."""
    _server_cleanup.close()


# Also when the helpers are used outside pytest.
atexit.register(stop_server)
