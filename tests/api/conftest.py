"""HTTP API fixtures: a real server (uvicorn on loopback) over a real database."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.live_server import a_client, app_factory, captured_log, running


@pytest.fixture(scope="session")
def api_log() -> Iterator[list[str]]:
    """Lines logged by the API servers of the session (see tests/api/live_server.py)."""
    with captured_log() as lines:
        yield lines


@pytest.fixture
def api_registry_csv(tmp_path: Path) -> Path:
    """Where the API server looks for its Disdukcapil extract; tests write it as needed."""
    return tmp_path / "dukcapil-7174-2024-02.csv"


@pytest.fixture
def api_app(db_url: str, tmp_path: Path, api_log: list[str]):
    """``create_app`` over ``db_url``: call it with create_app's keyword arguments."""
    return app_factory(db_url, tmp_path)


@pytest.fixture
def api_server(api_app, api_registry_csv: Path) -> Iterator[str]:
    """Base URL of a running API server with a registry extract configured."""
    with running(api_app(registry_path=api_registry_csv)) as base_url:
        yield base_url


@pytest.fixture
def api_client(api_server: str):
    """An httpx client of ``api_server`` that fails the test on any 5xx."""
    with a_client(api_server) as client:
        yield client
