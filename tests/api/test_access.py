"""Who may call what (docs/access.md): every route of the OpenAPI document, for every role,
on a program in the caller's region and on one outside it; and who is no one at all.

A Kotamobagu (7174) officer of each role calls each route on Kotamobagu's program and on
Makassar's (7371): the permission table's roles pass the guard in Kotamobagu and are
refused ``outside-region`` in Makassar; every other role is refused ``forbidden-role``;
and a refused command appends nothing to the log.
"""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.access import PERMISSIONS, allowed_roles, is_public
from ledger import program
from ledger.participant import kpj_stream_id
from ledger.tokens import (
    ADMIN,
    AUDITOR,
    ENROLLMENT_CLERK,
    NATIONAL,
    ROLES,
    create_token,
    revoke_token,
    utc_now,
)
from tests.api.live_server import a_client, running
from tests.api.scenario import (
    PHASE_1,
    PROGRAM_ID,
    assert_problem,
    kotamobagu,
    matched_by_hand,
    participant_url,
    siti,
)

KOTAMOBAGU = "7174"
MAKASSAR = "7371"
MAKASSAR_PROGRAM = "makassar-2024"
METHODS = ("get", "post", "put", "patch", "delete")


class Ledger:
    """A running API with Kotamobagu's and Makassar's programs open, and a Kotamobagu token
    of every role."""

    def __init__(self, app: Any, base_url: str) -> None:
        self.system = app.state.system
        self.base_url = base_url
        self.kotamobagu_tokens = {role: self.token(role, [KOTAMOBAGU]) for role in ROLES}

    def token(self, role: str, regions: list[str], expires_days: int = 30,
              days_ago: int = 0) -> str:
        _, secret = create_token(self.system.storage.db, f"{role}-{'-'.join(regions)}", role,
                                 regions, expires_days, utc_now() - timedelta(days=days_ago))
        return secret

    def head(self) -> int:
        return self.system.store.head()


@pytest.fixture
def ledger(api_app) -> Iterator[Ledger]:
    app = api_app()
    with running(app) as base_url, a_client(base_url) as national_admin:
        for body in (kotamobagu(), makassar()):
            assert national_admin.post("/programs", json=body).status_code == 201
        yield Ledger(app, base_url)


@pytest.fixture
def client(ledger: Ledger) -> Iterator[httpx.Client]:
    with a_client(ledger.base_url) as client:
        yield client


def makassar(**changes: Any) -> dict[str, Any]:
    return kotamobagu(**{"program_id": MAKASSAR_PROGRAM, "region_code": MAKASSAR,
                         "region_name": "Kota Makassar", **changes})


def routes(client: httpx.Client) -> list[tuple[str, str]]:
    """Every (method, path template) of the OpenAPI document but the public ones."""
    document = client.get("/schema/openapi.json").json()
    return sorted((method.upper(), path) for path, operations in document["paths"].items()
                  for method in operations if method in METHODS and not is_public(path))


def call(client: httpx.Client, secret: str | None, method: str, template: str,
         program_id: str, region_code: str) -> httpx.Response:
    """The route on ``program_id``: opening a program names its region in the body."""
    path = (template.replace("{program_id}", program_id)
            .replace("{participant_id}", str(uuid.uuid4()))
            .replace("{claim_id}", "JKM-2024-0001").replace("{bill_id}", "2024-03")
            .replace("{stream_id}", str(program.stream_id(program_id))))
    body = ({**kotamobagu(program_id=f"new-{uuid.uuid4().hex[:8]}"), "region_code": region_code}
            if (method, template) == ("POST", "/programs") else {})
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return client.request(method, path, headers=headers,
                          json=body if method == "POST" else None)


def test_every_route_of_the_api_has_an_access_decision(client):
    undecided = [route for route in routes(client) if route not in PERMISSIONS]

    assert undecided == []
    assert set(PERMISSIONS) <= set(routes(client)), "a decision for a route that is gone"


def test_the_auditor_reads_every_route_and_writes_none():
    assert {route for route, roles in PERMISSIONS.items() if AUDITOR in roles} == {
        route for route in PERMISSIONS if route[0] == "GET"}


def test_each_role_does_its_job_in_its_region_and_nothing_else(ledger, client):
    for method, template in routes(client):
        for role, secret in ledger.kotamobagu_tokens.items():
            allowed = role in allowed_roles(method, template)
            # When a Kotamobagu officer calls it on Kotamobagu's program, then on Makassar's
            for program_id, region_code in ((PROGRAM_ID, KOTAMOBAGU),
                                            (MAKASSAR_PROGRAM, MAKASSAR)):
                head = ledger.head()
                response = call(client, secret, method, template, program_id, region_code)

                # Then only the table's roles pass, and only in their own region
                where = f"{role} {method} {template} in {region_code}: {response.text}"
                if allowed and region_code == KOTAMOBAGU:
                    assert response.status_code not in (401, 403), where
                    continue
                code = "outside-region" if allowed else "forbidden-role"
                assert response.status_code == 403, where
                assert response.json()["code"] == code, where
                assert ledger.head() == head, f"a refused call appended: {where}"


def test_no_token_is_refused_on_every_route_and_appends_nothing(ledger, client):
    head = ledger.head()
    anonymous = httpx.Client(base_url=ledger.base_url)
    for method, template in routes(client):
        response = call(anonymous, None, method, template, PROGRAM_ID, KOTAMOBAGU)

        assert_problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert ledger.head() == head
    anonymous.close()


def test_malformed_unknown_expired_and_revoked_tokens_are_refused(ledger, client):
    token, revoked = create_token(ledger.system.storage.db, "Sri Wahyuni", ENROLLMENT_CLERK,
                                  [KOTAMOBAGU], 30, utc_now())
    revoke_token(ledger.system.storage.db, token.token_id, utc_now())
    expired = ledger.token(ENROLLMENT_CLERK, [KOTAMOBAGU], expires_days=1, days_ago=2)
    participants = f"/programs/{PROGRAM_ID}/participants"

    for authorization in ("Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer prl_not-issued",
                          f"Bearer {expired}", f"Bearer {revoked}"):
        response = client.post(participants, json=siti(),
                               headers={"Authorization": authorization})

        problem = assert_problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert revoked not in problem["detail"] and expired not in problem["detail"]
    assert "revoked" in client.post(participants, json=siti(),
                                    headers={"Authorization": f"Bearer {revoked}"}).text
    assert "expired" in client.post(participants, json=siti(),
                                    headers={"Authorization": f"Bearer {expired}"}).text


def test_probes_and_the_openapi_document_need_no_token(ledger):
    with httpx.Client(base_url=ledger.base_url) as anonymous:
        assert anonymous.get("/health").status_code == 200
        document = anonymous.get("/schema/openapi.json").json()

    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_token_holder_is_the_actor_of_what_they_record(ledger, client):
    # Given a clerk's token for Kotamobagu, held by Sri Wahyuni
    secret = create_token(ledger.system.storage.db, "Sri Wahyuni", ENROLLMENT_CLERK,
                          [KOTAMOBAGU], 30, utc_now())[1]

    # When she submits a candidate
    submitted = client.post(f"/programs/{PROGRAM_ID}/participants", json=siti(),
                            headers={"Authorization": f"Bearer {secret}"}).json()

    # Then the event records her and her role, whatever headers claimed otherwise
    detail = client.get(f"/programs/{PROGRAM_ID}/participants/{submitted['participant_id']}")
    (event,) = detail.json()["history"]
    assert (event["actor_id"], event["actor_role"]) == ("Sri Wahyuni", ENROLLMENT_CLERK)


def test_a_token_of_two_regions_reaches_both_and_a_kotamobagu_one_only_kotamobagu(ledger,
                                                                                   client):
    both = ledger.token(AUDITOR, [KOTAMOBAGU, MAKASSAR])
    kotamobagu_only = ledger.kotamobagu_tokens[AUDITOR]

    def status(secret: str, program_id: str) -> int:
        return client.get(f"/programs/{program_id}",
                          headers={"Authorization": f"Bearer {secret}"}).status_code

    assert [status(both, p) for p in (PROGRAM_ID, MAKASSAR_PROGRAM)] == [200, 200]
    assert [status(kotamobagu_only, p) for p in (PROGRAM_ID, MAKASSAR_PROGRAM)] == [200, 403]


def test_a_stream_that_names_no_program_is_read_by_a_national_token_only(ledger, client):
    # Given Siti enrolled in Kotamobagu, her KPJ taken on a stream that names no program
    pid = client.post(f"/programs/{PROGRAM_ID}/participants", json=siti()).json()[
        "participant_id"]
    matched_by_hand(client, pid)
    assert client.post(participant_url(pid, "enrollment"), json=PHASE_1).status_code == 201
    national = {"Authorization": f"Bearer {ledger.token(AUDITOR, [NATIONAL])}"}
    history = f"/streams/{kpj_stream_id(PROGRAM_ID, PHASE_1['kpj'])}/history"

    # When a Kotamobagu auditor and a national one read its history
    regional = client.get(history, headers={
        "Authorization": f"Bearer {ledger.kotamobagu_tokens[AUDITOR]}"})
    read = client.get(history, headers=national)

    # Then only the national one may: nothing says whose region it is
    assert_problem(regional, 403, "outside-region")
    assert [event["type"] for event in read.json()] == ["participant.kpj_taken.v1"]


def test_a_regional_admin_cannot_open_a_program_of_another_region(ledger, client):
    admin = {"Authorization": f"Bearer {ledger.kotamobagu_tokens[ADMIN]}"}
    head = ledger.head()

    response = client.post("/programs", json=makassar(program_id="makassar-2025"),
                           headers=admin)

    assert_problem(response, 403, "outside-region")
    assert ledger.head() == head
    assert client.post("/programs", json=kotamobagu(program_id="kotamobagu-2025"),
                       headers=admin).status_code == 201
