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


def test_compose_migrates_as_the_owner_before_the_api_starts():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "migrate", "api"}
    assert services["migrate"]["command"] == ["ledger", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"}}


def test_the_api_serves_on_the_published_port_and_checks_its_health_there():
    api = COMPOSE["services"]["api"]
    command = api["command"]
    assert command[:2] == ["ledger", "serve"]
    port = command[command.index("--port") + 1]
    assert api["ports"] == [f"{port}:{port}"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert f"127.0.0.1:{port}/health" in " ".join(api["healthcheck"]["test"])


def database_of(service: str) -> tuple[str, str, str]:
    """(user, password, database) of a ledger service's URL, its secrets resolved."""
    url = resolved(COMPOSE["services"][service]["environment"]["LEDGER_DATABASE_URL"],
                   POSTGRES_PASSWORD="owner-s3cret", LEDGER_APP_PASSWORD="app-s3cret")
    parts = urlsplit(Settings.from_env({"LEDGER_DATABASE_URL": url}).database_url)
    assert (parts.scheme, parts.hostname, parts.port) == ("postgresql", "postgres", 5432)
    return parts.username, parts.password, parts.path.lstrip("/")


def test_the_migrations_run_as_the_tables_owner_with_its_secret():
    postgres = COMPOSE["services"]["postgres"]["environment"]

    assert database_of("migrate") == (postgres["POSTGRES_USER"], "owner-s3cret",
                                      postgres["POSTGRES_DB"])
    assert "${POSTGRES_PASSWORD:?" in postgres["POSTGRES_PASSWORD"], "no default secret"


def test_the_api_runs_as_a_member_of_ledger_service_without_the_owners_secret():
    postgres = COMPOSE["services"]["postgres"]
    init = COMPOSE["configs"][postgres["configs"][0]["source"]]["content"]
    migration = (ROOT / "migrations" / "postgresql" / "0008_service_role.sql").read_text()

    user, password, database = database_of("api")

    assert (password, database) == ("app-s3cret", postgres["environment"]["POSTGRES_DB"])
    assert f"CREATE ROLE {user} LOGIN PASSWORD :'password' IN ROLE ledger_service;" in init
    assert "\\getenv password LEDGER_APP_PASSWORD" in init
    assert "${LEDGER_APP_PASSWORD:?" in postgres["environment"]["LEDGER_APP_PASSWORD"]
    assert postgres["configs"][0]["target"].startswith("/docker-entrypoint-initdb.d/")
    assert "CREATE ROLE ledger_service NOLOGIN" in init and "ledger_service NOLOGIN" in migration
    assert "POSTGRES_PASSWORD" not in str(COMPOSE["services"]["api"])


def test_every_ledger_setting_in_compose_is_one_the_app_reads():
    for service in COMPOSE["services"].values():
        if "build" not in service:
            continue  # not the ledger (the postgres image reads LEDGER_APP_PASSWORD)
        for name in service.get("environment", {}):
            assert not name.startswith("LEDGER_") or name in ENV_VARS, name
    assert Settings.from_env({"LEDGER_DB_POOL_SIZE": COMPOSE["services"]["api"][
        "environment"]["LEDGER_DB_POOL_SIZE"]}).pool_size == 10


def test_the_api_takes_its_personal_data_keys_from_the_environment_and_requires_them():
    keys = COMPOSE["services"]["api"]["environment"]["LEDGER_KEYS"]
    assert keys.startswith("${LEDGER_KEYS:?")
    assert "LEDGER_KEYS" not in str(COMPOSE["services"]["postgres"])


def test_the_image_ships_the_migrations_where_the_app_looks_for_them():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY migrations ./migrations" in dockerfile
    assert "LEDGER_MIGRATIONS_DIR=/app/migrations" in dockerfile
    assert "WORKDIR /app" in dockerfile
