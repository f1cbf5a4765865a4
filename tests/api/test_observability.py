"""Observability: /health, /ready, /metrics and what each request logs."""

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import msgspec
import pytest
from litestar import Litestar
from prometheus_client.parser import text_string_to_metric_families

from ledger.errors import InvalidInput
from ledger.program import OpenProgram
from ledger.service import Actor
from ledger.settings import Settings
from ledger.storage import migrations_dir
from ledger.tokens import ENROLLMENT_CLERK, NATIONAL
from tests.api.live_server import HOLDERS, running
from tests.api.scenario import (
    PROGRAM_ID,
    SITI_NIK,
    assert_problem,
    kotamobagu,
    matched_by_hand,
    open_program,
    participant_url,
    siti,
    submit,
)
from tests.api.test_http_edge import _wait_for_lines

PROJECTIONS = ("claims", "contributions", "participants", "programs")


def test_health_says_the_process_is_alive(api_client):
    response = api_client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_freshly_migrated_ledger_is_ready(api_client):
    response = api_client.get("/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True, "migrations": True, "projection_lag": True}


def test_the_lag_threshold_is_a_setting():
    assert Settings.from_env({}).ready_max_lag == 10_000
    assert Settings.from_env({"LEDGER_READY_MAX_LAG": "0"}).ready_max_lag == 0
    with pytest.raises(InvalidInput, match="LEDGER_READY_MAX_LAG"):
        Settings.from_env({"LEDGER_READY_MAX_LAG": "-1"})


def test_not_ready_while_projections_lag_past_the_threshold(api_app):
    with serving(api_app(ready_max_lag=0)) as (app, client):
        # Given an event appended without the projections catching up
        appended_unprojected(app)

        # Then the service is not ready, and says that lag is why
        problem = assert_problem(client.get("/ready"), 503, "not-ready")
        assert not problem["checks"]["projection_lag"]["ok"]
        assert "1 events behind (at most 0)" in problem["checks"]["projection_lag"]["detail"]
        assert problem["checks"]["database"]["ok"] and problem["checks"]["migrations"]["ok"]
        assert "projection_lag" in problem["detail"]

        # And ready again once they caught up
        app.state.system.projections.catch_up()
        assert client.get("/ready").status_code == 200


def test_not_ready_while_a_migration_is_pending(api_server, monkeypatch, tmp_path: Path):
    # Given a newer release's migrations beside the running process (nothing is applied:
    # the server migrated when it started, and /ready only reads)
    newer = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), newer)
    (newer / "common" / "9999_next_release.sql").write_text(
        "CREATE TABLE next_release (id INTEGER PRIMARY KEY);\n")
    monkeypatch.setenv("LEDGER_MIGRATIONS_DIR", str(newer))

    response = httpx.get(f"{api_server}/ready")  # api_client fails a test on any 5xx

    problem = assert_problem(response, 503, "not-ready")
    assert problem["checks"]["migrations"] == {"ok": False,
                                               "detail": "pending: 9999_next_release"}
    assert problem["checks"]["database"]["ok"]


def test_metrics_show_projection_lag_until_a_catch_up(api_app):
    with serving(api_app()) as (app, client):
        appended_unprojected(app)

        behind = scrape(client)
        for name in PROJECTIONS:
            assert behind[("ledger_projection_lag_events", (("projection", name),))] == 1
            assert behind[("ledger_projection_position", (("projection", name),))] == 0

        app.state.system.projections.catch_up()

        caught_up = scrape(client)
        for name in PROJECTIONS:
            assert caught_up[("ledger_projection_lag_events", (("projection", name),))] == 0
            assert caught_up[("ledger_projection_position", (("projection", name),))] == 1


def test_metrics_count_commands_by_outcome_and_time_routes(api_client):
    opened = ("ledger_commands_total", (("command", "open_program"), ("outcome", "2xx")))
    refused = ("ledger_commands_total",
               (("command", "open_program"), ("outcome", "program-already-open")))
    before = scrape(api_client)

    open_program(api_client)
    assert_problem(api_client.post("/programs", json=kotamobagu()), 409, "program-already-open",
                   field="program_id")
    api_client.get(f"/programs/{PROGRAM_ID}")

    after = scrape(api_client)
    assert after[opened] - before.get(opened, 0) == 1
    assert after[refused] - before.get(refused, 0) == 1
    assert not any(name == "ledger_commands_total" and ("command", "get_program") in labels
                   for name, labels in after)
    timed = ("ledger_http_request_duration_seconds_count",
             (("method", "POST"), ("route", "/programs")))
    assert after[timed] - before.get(timed, 0) == 2


def test_a_participant_command_logs_who_did_what_to_which_stream(api_client, api_log):
    open_program(api_client)
    participant_id = submit(api_client, siti())
    start = len(api_log)

    matched_by_hand(api_client, participant_id)  # as the enrollment clerk's token

    lines = _wait_for_lines(api_log, start, 1, about="/verification-results")
    (line,) = [json.loads(line) for line in lines]
    assert line["request_id"] and line["status"] == 201
    assert (line["actor_id"], line["role"], line["regions"]) == (
        HOLDERS[ENROLLMENT_CLERK], ENROLLMENT_CLERK, [NATIONAL])
    assert line["route"] == "/programs/{program_id}/participants/{participant_id}/" \
                            "verification-results"
    assert line["command"] == "record_verification"
    assert (line["program_id"], line["participant_id"]) == (PROGRAM_ID, participant_id)
    for personal in (SITI_NIK, "Siti", "Mokodompit", "1985-03-05"):
        assert personal not in lines[0]


def test_a_read_names_no_command_and_an_unknown_id_is_not_logged(api_client, api_log):
    open_program(api_client)
    start = len(api_log)

    read = api_client.get(f"/programs/{PROGRAM_ID}")
    unknown = api_client.get(participant_url("Siti Mokodompit"))

    # By request id: the program's opening is logged after it answered, so its line may
    # still arrive after ``start``.
    ids = [r.headers["x-request-id"] for r in (read, unknown)]
    lines = [next(line for line in _wait_for_lines(api_log, start, 1, about=request_id))
             for request_id in ids]
    first, second = (json.loads(line) for line in lines)
    assert first["command"] is None and first["program_id"] == PROGRAM_ID
    assert second["status"] == 400
    assert "participant_id" not in second and "program_id" not in second
    assert "Siti" not in lines[1]


def test_a_request_without_a_token_is_logged_and_counted_as_anonymous(api_server, api_log):
    start = len(api_log)

    response = httpx.post(f"{api_server}/programs", json=kotamobagu())

    assert_problem(response, 401, "unauthenticated")
    (line,) = [json.loads(line) for line in _wait_for_lines(api_log, start, 1, about="/programs")]
    assert (line["actor_id"], line["role"], line["regions"]) == ("anonymous", None, [])
    assert line["command"] == "open_program"
    refused = ("ledger_commands_total",
               (("command", "open_program"), ("outcome", "unauthenticated")))
    assert scrape(httpx.Client(base_url=api_server))[refused] == 1


@contextmanager
def serving(app: Litestar) -> Iterator[tuple[Litestar, httpx.Client]]:
    """The app served, and a client that lets a 503 through (a not-ready answer is one)."""
    with running(app) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        yield app, client


def appended_unprojected(app: Litestar) -> None:
    """One event in the log (a program opened) that no projection has applied yet: the
    HTTP routes catch up after every command, so this goes to the ledger directly."""
    command = msgspec.convert(kotamobagu(), OpenProgram)
    app.state.system.ledger.open_program(command, Actor("test", "admin"))


def scrape(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}
