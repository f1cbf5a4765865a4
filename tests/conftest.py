"""Shared test fixtures.

PostgreSQL comes from ``tests/postgres_server.py`` (resolved once, never
skipped); every test that needs it gets a fresh database there. ``db_url``
connects to it as the service does in production, as a role that may append to
history but not change it; ``owner_db_url`` as the tables' owner, for the tests
that tamper with history as an insider with every right would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres_server import (
    as_service_role,
    fresh_postgres_database,
    postgres_server_url,
    stop_server,
)

# ---------------------------------------------------------------------------
# Hooks
# ---------------------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stop_server()


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
def pg_service_url(pg_url: str) -> str:
    """``pg_url`` migrated by its owner, as a login member of ledger_service."""
    return as_service_role(pg_url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a not-yet-existing SQLite file in the test's tmp_path."""
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture(
    params=[
        pytest.param("sqlite_url", id="sqlite"),
        pytest.param("pg_service_url", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test, once on SQLite and once on PostgreSQL as the service's role."""
    return request.getfixturevalue(request.param)


@pytest.fixture(
    params=[
        pytest.param("sqlite_url", id="sqlite"),
        pytest.param("pg_url", id="postgres", marks=pytest.mark.postgres),
    ]
)
def owner_db_url(request: pytest.FixtureRequest) -> str:
    """The same test, once on SQLite and once on PostgreSQL as the tables' owner."""
    return request.getfixturevalue(request.param)
