"""Safe commands over HTTP, on both databases: ``Idempotency-Key`` retries get the first
answer and append nothing, a key is never reused for another request, concurrent commands
on one stream are told to retry, and every command route has a body limit
(docs/commands.md)."""

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from eventsourcing.persistence import OperationalError

from api import idempotency
from api.app import MAX_COMMAND_BODY_BYTES
from api.idempotency import COMMAND_METHODS
from api.routes.imports import MAX_UPLOAD_BODY_BYTES
from ledger import claim
from ledger.storage import open_storage
from ledger.store import EventStore
from ledger.tokens import ENROLLMENT_CLERK, NATIONAL, create_token, utc_now
from tests.api.live_server import a_client, running, secret_of
from tests.api.scenario import (
    PROGRAM_ID,
    assert_problem,
    candidate,
    matched_by_hand,
    open_program,
    participant_url,
    siti,
    submit,
)
from tests.api.test_bills import BILLS, TARIFF, enrolled_members, pay
from tests.api.test_claims_api import death, report
from tests.api.test_imports import IMPORTS, village_list
from tests.keys import KEYRING

PARTICIPANTS = f"/programs/{PROGRAM_ID}/participants"
HEIR = {"name": "Hasan Mokodompit", "relation": "spouse", "evidence": "KK",
        "recorded_on": "2024-05-21"}


def key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": f"test-{name}-7f3c9a"}


@pytest.fixture
def server(api_app, api_registry_csv) -> Iterator[tuple[Any, str]]:
    """The running app (to reach into its system) and its base URL."""
    app = api_app(registry_path=api_registry_csv)
    with running(app) as base_url:
        yield app, base_url


@pytest.fixture
def client(server) -> Iterator[httpx.Client]:
    with a_client(server[1]) as client:
        open_program(client)
        yield client


@pytest.fixture
def log_head(server, db_url: str) -> Iterator[Callable[[], int]]:
    storage = open_storage(db_url, apply_migrations=False, pool_size=1)
    try:
        yield EventStore(storage, KEYRING).head
    finally:
        storage.close()


def assert_replayed(first: httpx.Response, again: httpx.Response) -> None:
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotency-replayed"] == "true"
    assert "idempotency-replayed" not in first.headers


def test_a_retried_submission_gets_the_first_answer_and_appends_nothing(client, log_head):
    # Given a submission that was answered (but the answer, say, was lost)
    first = client.post(PARTICIPANTS, json=siti(), headers=key("submit"))
    assert first.status_code == 201 and first.json()["appended_events"] == 1
    head = log_head()

    # When the clerk's client sends it again with the same key
    again = client.post(PARTICIPANTS, json=siti(), headers=key("submit"))

    # Then it gets the first answer (not "unchanged, 200"), and the log is as it was
    assert_replayed(first, again)
    assert log_head() == head


def test_a_retried_payment_gets_the_first_answer_and_appends_nothing(client, log_head):
    enrolled_members(client)
    assert client.post(BILLS, json={"period": "2024-03"}).status_code == 201
    body = {"payment_ref": "SP2D-0312/2024", "paid_on": "2024-03-10", "amount_idr": 3 * TARIFF}
    first = client.post(f"{BILLS}/2024-03/payments", json=body, headers=key("pay"))
    assert first.status_code == 201, first.text
    head = log_head()

    again = client.post(f"{BILLS}/2024-03/payments", json=body, headers=key("pay"))

    assert_replayed(first, again)
    assert log_head() == head


def test_a_retried_claim_step_records_the_heir_once(client, log_head):
    members = enrolled_members(client)
    for period in ("2024-03", "2024-04", "2024-05"):
        assert client.post(BILLS, json={"period": period}).status_code == 201
        assert pay(client, period, 3 * TARIFF, ref=f"SP2D-{period}",
                   paid_on=f"{period}-10").status_code == 201
    claim_id = report(client, members[0], death()).json()["claim_id"]
    first = client.post(f"/programs/{PROGRAM_ID}/claims/{claim_id}/heirs", json=HEIR,
                        headers=key("heir"))
    assert first.status_code == 201, first.text
    head = log_head()

    again = client.post(f"/programs/{PROGRAM_ID}/claims/{claim_id}/heirs", json=HEIR,
                        headers=key("heir"))

    assert_replayed(first, again)
    assert log_head() == head
    assert len(again.json()["heirs"]) == 1


def test_a_retried_upload_is_answered_as_the_first_though_its_form_is_built_again(
        client, log_head):
    # httpx draws a new multipart boundary for each request: the bytes differ, the form not
    upload = village_list(siti(), candidate(2))
    first = client.post(f"{IMPORTS}/candidates", files={"file": upload}, headers=key("upload"))
    assert first.status_code == 200 and first.json()["events_appended"] == 2
    head = log_head()

    again = client.post(f"{IMPORTS}/candidates", files={"file": upload}, headers=key("upload"))

    assert_replayed(first, again)
    assert log_head() == head


def test_a_key_used_again_for_another_request_is_refused(client, log_head):
    first = client.post(PARTICIPANTS, json=siti(), headers=key("reused")).json()
    head = log_head()

    other_body = client.post(PARTICIPANTS, json=candidate(2), headers=key("reused"))
    other_route = client.post(
        participant_url(first["participant_id"], "verification-results"), headers=key("reused"),
        json={"outcome": "matched", "source": "Surat 470/112/2024", "verified_on": "2024-02-20"})
    other_file = client.post(f"{IMPORTS}/candidates", files={"file": village_list(siti())},
                             headers=key("reused"))

    for refused in (other_body, other_route, other_file):
        problem = assert_problem(refused, 422, "idempotency-key-reused", "Idempotency-Key")
        assert "new key" in problem["detail"]
    assert log_head() == head


def test_a_malformed_key_is_refused_naming_the_header(client, log_head):
    head = log_head()
    for malformed in ("", "two words", "x" * 201, "kunci-é"):
        response = client.post(PARTICIPANTS, json=siti(),
                               headers={"Idempotency-Key": malformed.encode()})
        assert_problem(response, 400, "invalid-input", "Idempotency-Key")
    assert log_head() == head


def test_the_same_key_while_the_first_is_in_flight_waits_and_only_one_runs(
        server, client, log_head):
    # Given a submission held in its handler until the test lets it go
    app, base_url = server
    ledger = app.state.system.ledger
    entered, release = threading.Event(), threading.Event()
    original_submit = ledger.submit

    def held_submit(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(timeout=10)
        return original_submit(*args, **kwargs)

    ledger.submit = held_submit
    head = log_head()
    answers: list[httpx.Response] = []

    def send() -> None:
        with a_client(base_url) as clerk:
            answers.append(clerk.post(PARTICIPANTS, json=siti(), headers=key("flight")))

    first = threading.Thread(target=send)
    first.start()
    assert entered.wait(timeout=10)

    # When the same request comes again meanwhile
    in_flight = client.post(PARTICIPANTS, json=siti(), headers=key("flight"))
    release.set()
    first.join()

    # Then it is told to come back, the first is answered, and the next retry replays it
    assert_problem(in_flight, 409, "idempotency-key-in-flight", "Idempotency-Key")
    assert in_flight.headers["retry-after"] == "1"
    assert answers[0].status_code == 201
    assert_replayed(answers[0], client.post(PARTICIPANTS, json=siti(), headers=key("flight")))
    assert log_head() == head + 1


def test_an_answer_the_database_cannot_keep_still_reaches_the_client(client, log_head,
                                                                    monkeypatch):
    # Given a database that goes away just after a submission is done, past every try
    # to keep its answer
    def database_gone(*_args):
        raise OperationalError("the database went away")

    monkeypatch.setattr(idempotency, "_keep", database_gone)
    head = log_head()

    # When the submission is sent with a key
    first = client.post(PARTICIPANTS, json=siti(), headers=key("kept-nowhere"))

    # Then its own answer reaches the client, not a 500, and the events were appended
    assert first.status_code == 201, first.text
    assert first.json()["appended_events"] > 0
    appended = log_head()
    assert appended > head
    # And a retry is told to wait for the claim left in flight, appending nothing
    again = client.post(PARTICIPANTS, json=siti(), headers=key("kept-nowhere"))
    assert_problem(again, 409, "idempotency-key-in-flight", field="Idempotency-Key")
    assert "retry-after" in again.headers
    assert log_head() == appended


def test_a_conflict_is_not_kept_so_the_retry_runs_again(client):
    participant_id = submit(client, siti())
    enroll = {"kpj": "24012345678", "coverage_start": "2024-03-01", "batch": "tahap-1"}
    refused = client.post(participant_url(participant_id, "enrollment"), json=enroll,
                          headers=key("enroll"))
    assert_problem(refused, 409, "not-matched")

    matched_by_hand(client, participant_id)
    again = client.post(participant_url(participant_id, "enrollment"), json=enroll,
                        headers=key("enroll"))

    assert again.status_code == 201, again.text
    assert "idempotency-replayed" not in again.headers


def test_a_final_refusal_is_kept_and_replayed(client, log_head):
    enrolled_members(client)
    assert client.post(BILLS, json={"period": "2024-03"}).status_code == 201
    too_much = {"payment_ref": "SP2D-9/2024", "paid_on": "2024-03-10", "amount_idr": 10**9}
    first = client.post(f"{BILLS}/2024-03/payments", json=too_much, headers=key("too-much"))
    assert_problem(first, 422, "payment-exceeds-bill", "amount_idr")

    assert_replayed(first, client.post(f"{BILLS}/2024-03/payments", json=too_much,
                                       headers=key("too-much")))


def test_keys_are_scoped_per_caller(server, client, log_head):
    app, base_url = server
    _, other_secret = create_token(app.state.system.storage.db, "clerk-mogolaing",
                                   ENROLLMENT_CLERK, [NATIONAL], 1, utc_now())
    client.post(PARTICIPANTS, json=siti(), headers=key("shared"))

    # Another clerk's client happens to draw the same key for another candidate
    other = client.post(PARTICIPANTS, json=candidate(2), headers={
        **key("shared"), "Authorization": f"Bearer {other_secret}"})

    assert other.status_code == 201, other.text
    assert "idempotency-replayed" not in other.headers


def test_two_different_commands_on_one_claim_at_once_one_is_told_to_retry(server, client):
    # Given a reported death, and two claims officers' steps that decide on the same version
    app, base_url = server
    members = enrolled_members(client)
    claim_id = report(client, members[0], death()).json()["claim_id"]
    store = app.state.system.store
    stream = claim.stream_id(PROGRAM_ID, claim_id)
    both_decided = threading.Barrier(2, timeout=10)
    original_append = store.append

    def append_together(writes, meta):
        if any(write.stream_id == stream for write in writes):
            both_decided.wait()
        return original_append(writes, meta)

    store.append = append_together
    answers: dict[str, httpx.Response] = {}

    def send(command: str, body: dict[str, Any]) -> None:
        with a_client(base_url) as officer:
            answers[command] = officer.post(
                f"/programs/{PROGRAM_ID}/claims/{claim_id}/{command}", json=body,
                headers=key(command))

    # When both are sent at once
    officers = [threading.Thread(target=send, args=("heirs", HEIR)),
                threading.Thread(target=send, args=("documents", {
                    "document": "kpj_card", "received_on": "2024-05-21",
                    "reference": "KPJ 24012345671"}))]
    for officer in officers:
        officer.start()
    for officer in officers:
        officer.join()
    store.append = original_append

    # Then one is recorded and the other told to retry; its retry, same key, goes through
    assert sorted(r.status_code for r in answers.values()) == [201, 409]
    (loser,) = [command for command, r in answers.items() if r.status_code == 409]
    problem = assert_problem(answers[loser], 409, "concurrency-conflict")
    assert "retry" in problem["detail"] and answers[loser].headers["retry-after"] == "1"
    body = HEIR if loser == "heirs" else {"document": "kpj_card", "received_on": "2024-05-21",
                                          "reference": "KPJ 24012345671"}
    retried = client.post(f"/programs/{PROGRAM_ID}/claims/{claim_id}/{loser}", json=body,
                          headers=key(loser))
    assert retried.status_code == 201, retried.text


def test_every_command_route_has_an_explicit_body_limit(server):
    app, _ = server
    limits = {(method, route.path): handler.resolve_request_max_body_size()
              for route in app.routes for handler in getattr(route, "route_handlers", ())
              for method in handler.http_methods & COMMAND_METHODS}

    uploads = {path for _, path in limits if "/imports/" in path or path.endswith("/import")}
    assert uploads == {f"/programs/{{program_id:str}}/imports/{kind}"
                       for kind in ("candidates", "registry", "kpj")} | {
        "/programs/{program_id:str}/bills/import"}
    for (_, path), limit in limits.items():
        assert limit == (MAX_UPLOAD_BODY_BYTES if path in uploads else MAX_COMMAND_BODY_BYTES)


@pytest.mark.parametrize("headers", [{}, key("big")], ids=["plain", "keyed"])
def test_an_upload_over_its_limit_is_refused_before_it_is_read(server, client, headers):
    _, base_url = server

    status, body = _raw_post(base_url, f"{IMPORTS}/candidates", {
        **headers, "Authorization": f"Bearer {secret_of(base_url, ENROLLMENT_CLERK)}",
        "Content-Type": "multipart/form-data; boundary=x",
        "Content-Length": str(MAX_UPLOAD_BODY_BYTES + 1)})

    assert status == 413
    assert b'"request-too-large"' in body and b"115,343,360 bytes" in body


def _raw_post(base_url: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """Send only the head of a request that announces a body, and read the answer: an
    over-large upload must be refused without the server waiting for its bytes."""
    host, port = base_url.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Connection: close",
             *(f"{name}: {value}" for name, value in headers.items())]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_a_keyed_upload_from_no_one_is_refused_before_it_is_read(server):
    _, base_url = server

    status, body = _raw_post(base_url, f"{IMPORTS}/candidates", {
        **key("anonymous"), "Content-Type": "multipart/form-data; boundary=x",
        "Content-Length": str(MAX_UPLOAD_BODY_BYTES)})

    assert status == 401 and b'"unauthenticated"' in body
