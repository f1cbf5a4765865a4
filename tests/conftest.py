"""Shared test fixtures.

PostgreSQL comes from ``tests/postgres_server.py`` (resolved once, never
skipped); every test that needs it gets a fresh database there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres_server import fresh_postgres_database, postgres_server_url, stop_server

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
