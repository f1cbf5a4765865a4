"""docker-compose.yml and the Dockerfile, checked by reading them (no Docker engine here)."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from ledger.settings import ENV_VARS, Settings

ROOT = Path(__file__).parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def resolved(value: str, **secrets: str) -> str:
    """Substitute ${NAME:?message} / ${NAME} as docker compose would."""
    return re.sub(r"\$\{(\w+)(?::\?[^}]*)?\}", lambda m: secrets[m.group(1)], value)


def test_compose_runs_postgres_and_the_api():
    assert set(COMPOSE["services"]) == {"postgres", "api"}
    assert COMPOSE["services"]["api"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_api_serves_on_the_published_port_and_checks_its_health_there():
    api = COMPOSE["services"]["api"]
    command = api["command"]
    assert command[:2] == ["ledger", "serve"]
    port = command[command.index("--port") + 1]
    assert api["ports"] == [f"{port}:{port}"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert f"127.0.0.1:{port}/health" in " ".join(api["healthcheck"]["test"])


def test_the_api_reaches_the_compose_postgres_with_the_secret_from_the_environment():
    postgres = COMPOSE["services"]["postgres"]["environment"]
    api_env = COMPOSE["services"]["api"]["environment"]
    url = resolved(api_env["LEDGER_DATABASE_URL"], POSTGRES_PASSWORD="s3cret")

    settings = Settings.from_env({"LEDGER_DATABASE_URL": url})

    parts = urlsplit(settings.database_url)
    assert (parts.scheme, parts.hostname, parts.port) == ("postgresql", "postgres", 5432)
    assert (parts.username, parts.password) == (postgres["POSTGRES_USER"], "s3cret")
    assert parts.path == "/" + postgres["POSTGRES_DB"]
    assert "${POSTGRES_PASSWORD:?" in postgres["POSTGRES_PASSWORD"], "no default secret"


def test_every_ledger_setting_in_compose_is_one_the_app_reads():
    for service in COMPOSE["services"].values():
        for name in service.get("environment", {}):
            assert not name.startswith("LEDGER_") or name in ENV_VARS, name
    assert Settings.from_env({"LEDGER_DB_POOL_SIZE": COMPOSE["services"]["api"][
        "environment"]["LEDGER_DB_POOL_SIZE"]}).pool_size == 10


def test_the_image_ships_the_migrations_where_the_app_looks_for_them():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY migrations ./migrations" in dockerfile
    assert "LEDGER_MIGRATIONS_DIR=/app/migrations" in dockerfile
    assert "WORKDIR /app" in dockerfile
