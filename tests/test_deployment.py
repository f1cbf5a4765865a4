"""docker-compose.yml and the Dockerfile, checked by reading them (no Docker engine here)."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from api.routes.health import health
from ledger import cli
from ledger.settings import ENV_VARS, Settings

ROOT = Path(__file__).parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def resolved(value: str, **secrets: str) -> str:
    """Substitute ${NAME:?message} / ${NAME} as docker compose would."""
    return re.sub(r"\$\{(\w+)(?::\?[^}]*)?\}", lambda m: secrets[m.group(1)], value)


LEDGER_SERVICES = ("api", "projection-worker", "as-of-checkpoints")
"""The long-running services of the ledger's own image, as the service's role."""


def test_compose_migrates_as_the_owner_before_the_api_and_the_worker_start():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "migrate", *LEDGER_SERVICES}
    assert services["migrate"]["command"] == ["ledger", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in LEDGER_SERVICES:
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"}}, name


def test_the_long_running_services_restart_and_the_migration_does_not():
    services = COMPOSE["services"]
    for name in ("postgres", *LEDGER_SERVICES):
        assert services[name]["restart"] == "unless-stopped", name
    assert services["migrate"]["restart"] == "no"


def test_postgres_reports_healthy_only_when_it_accepts_connections_to_the_ledger():
    postgres = COMPOSE["services"]["postgres"]
    check = postgres["healthcheck"]["test"]
    assert check[0] == "CMD-SHELL"
    assert check[1] == (f"pg_isready -U {postgres['environment']['POSTGRES_USER']} "
                        f"-d {postgres['environment']['POSTGRES_DB']}")


def test_the_worker_runs_the_ledgers_projection_command_in_the_same_image():
    worker = COMPOSE["services"]["projection-worker"]
    command = worker["command"]

    parsed = cli._parser().parse_args(command[1:])

    assert command[0] == "ledger" and parsed.command is cli.projections_run
    assert worker["build"] == COMPOSE["services"]["api"]["build"]
    assert "ports" not in worker, "the worker answers nobody"


def test_as_of_checkpoints_are_kept_daily_by_the_ledgers_command_in_the_same_image():
    service = COMPOSE["services"]["as-of-checkpoints"]
    command = service["command"]

    parsed = cli._parser().parse_args(command[1:])

    assert command[0] == "ledger" and parsed.command is cli.projections_checkpoint
    assert parsed.every == 24 and parsed.program == []  # every program, once a day
    assert service["build"] == COMPOSE["services"]["api"]["build"]
    assert "ports" not in service


def test_the_api_serves_on_the_published_port_with_the_ledgers_serve_command():
    api = COMPOSE["services"]["api"]
    command = api["command"]
    assert command[:2] == ["ledger", "serve"]
    port = command[command.index("--port") + 1]
    assert api["ports"] == [f"{port}:{port}"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert cli._parser().parse_args(command[1:]).command is cli.serve


def test_the_api_health_check_polls_health_with_the_python_the_slim_image_has():
    api = COMPOSE["services"]["api"]
    port = api["command"][api["command"].index("--port") + 1]
    check = api["healthcheck"]["test"]

    assert check[:3] == ["CMD", "python", "-c"], "no curl or wget in python:3.11-slim"
    assert f"urlopen('http://127.0.0.1:{port}/health'" in check[3]
    assert health.paths == {"/health"}


def test_the_api_health_check_fails_until_the_api_answers_and_then_passes(tmp_path):
    # Given the compose file's health check, aimed at a free port (the one the API uses
    # in its container may be taken here)
    api = COMPOSE["services"]["api"]
    check = api["healthcheck"]["test"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    code = check[3].replace(api["command"][api["command"].index("--port") + 1], port)

    def healthy() -> bool:
        return subprocess.run([sys.executable, "-c", code], capture_output=True,
                              timeout=10).returncode == 0

    # When nothing listens, then the check fails; when `ledger serve` does, it passes
    assert not healthy()
    env = {**os.environ, "LEDGER_DATA_DIR": str(tmp_path / "data")}
    env.pop("LEDGER_DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve", "--port", port],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not healthy() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert healthy(), "the health check never passed against a running API"
    finally:
        server.terminate()
        server.wait(timeout=30)


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


def test_the_worker_and_the_checkpoints_log_in_as_the_api_does_with_the_same_keys():
    api = COMPOSE["services"]["api"]["environment"]
    for name in ("projection-worker", "as-of-checkpoints"):
        environment = COMPOSE["services"][name]["environment"]
        assert database_of(name) == database_of("api"), name
        assert environment["LEDGER_KEYS"] == api["LEDGER_KEYS"], name
        assert "POSTGRES_PASSWORD" not in str(COMPOSE["services"][name]), name


def test_the_services_take_their_personal_data_keys_from_the_environment_and_require_them():
    for name in LEDGER_SERVICES:
        keys = COMPOSE["services"][name]["environment"]["LEDGER_KEYS"]
        assert keys.startswith("${LEDGER_KEYS:?"), name
    assert "LEDGER_KEYS" not in str(COMPOSE["services"]["postgres"])
    assert "LEDGER_KEYS" not in str(COMPOSE["services"]["migrate"])


def test_every_secret_in_compose_comes_from_the_environment_and_has_no_default():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    references = re.findall(r"\$\{(\w+)([^}]*)\}", text)

    assert {name for name, _ in references} == {
        "POSTGRES_PASSWORD", "LEDGER_APP_PASSWORD", "LEDGER_KEYS"}
    for name, rest in references:
        assert rest.startswith(":?"), f"${{{name}{rest}}} must be required, not defaulted"


def image_stage() -> list[str]:
    """The Dockerfile's last stage (the image that runs), one instruction a line."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    last_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    return lines[last_from:]


def test_the_image_ships_the_migrations_where_the_app_looks_for_them():
    image = image_stage()
    assert "WORKDIR /app" in image
    assert "COPY migrations ./migrations" in image
    assert any("LEDGER_MIGRATIONS_DIR=/app/migrations" in line for line in image)


def test_the_image_is_slim_and_runs_as_no_root():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    image = image_stage()

    assert image[0] == "FROM python:3.11-slim"
    assert "COPY --from=build /opt/ledger /opt/ledger" in image, "the installed package only"
    assert not any(line.startswith("COPY src") for line in image), "no sources in the image"
    assert all("--no-cache-dir" in line for line in dockerfile.splitlines()
               if "pip install" in line)
    user = [line for line in image if line.startswith("USER ")]
    assert user == ["USER ledger"]
    assert image.index(user[0]) > max(i for i, line in enumerate(image)
                                      if line.startswith(("RUN ", "COPY ")))


def test_the_build_context_holds_only_what_the_dockerfile_copies():
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line for line in ignore if line and not line.startswith("#")]
    copied = {source.rstrip("/")
              for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
              if line.startswith("COPY ") and "--from=" not in line
              for source in line.split()[1:-1]}

    assert rules[0] == "*", "everything is left out unless named"
    assert {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")} == copied
