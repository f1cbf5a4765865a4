"""Schemathesis against the OpenAPI document the running server publishes: no request it can
generate, valid or malformed, makes the API answer 5xx (issue 6, fault tests).

Every operation is called with the national token of the role whose job it is (the permission
table, api/access.py), so that requests get past authorisation into the routes, and on an open
program with a verified participant, so that the program-scoped routes reach their data. A
malformed request must be refused with a 4xx problem, never a 500, and every answer, refusals
included, must be one the document describes (its status, and a body of its schema).
"""

from pathlib import Path

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.access import PERMISSIONS, allowed_roles, is_public
from tests.api.live_server import a_client, running, secret_of
from tests.api.scenario import PROGRAM_ID, matched_by_hand, open_program, siti, submit

EXAMPLES_PER_MODE = 10
"""Cases per operation and generation mode: about 50 operations x 2 modes stays within a
couple of minutes on two cores, and still sends every route malformed bodies and parameters."""


def test_no_request_from_the_openapi_document_gets_a_server_error(
        api_app, api_registry_csv: Path) -> None:
    with running(api_app(registry_path=api_registry_csv)) as base_url:
        with a_client(base_url) as client:
            open_program(client)
            participant_id = submit(client, siti())
            matched_by_hand(client, participant_id)
        schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
        # Real ids for the program and its participant; the other ids (bills, claims, streams)
        # are generated, and mostly name nothing: a 404 is a fine answer, a 500 is not.
        known_ids = {"program_id": PROGRAM_ID, "participant_id": participant_id}
        failures: list[str] = []
        called: set[tuple[str, str]] = set()
        with requests.Session() as session:
            for result in schema.get_all_operations():
                operation = result.ok()
                method = operation.method.upper()
                if is_public(operation.path):
                    headers = {}
                else:
                    roles = allowed_roles(method, operation.path)
                    assert roles, f"{method} {operation.path} has no entry in api/access.py"
                    headers = {"Authorization": f"Bearer {secret_of(base_url, roles[0])}"}
                path_parameters = {name: value for name, value in known_ids.items()
                                   if f"{{{name}}}" in operation.path}
                called.add((method, operation.path))
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    try:
                        _fuzz(operation, mode, path_parameters, base_url, session, headers)
                    except Exception as exc:  # every failing operation is reported at once
                        failures.append(f"{method} {operation.path} ({mode.value}): {exc}")
    assert set(PERMISSIONS) <= called, "the OpenAPI document lost operations"
    assert not failures, "\n\n".join(failures)


def _fuzz(operation, mode: GenerationMode, path_parameters: dict[str, str], base_url: str,
          session: requests.Session, headers: dict[str, str]) -> None:
    # derandomize: the same cases on every run, so that CI is reproducible; database=None:
    # nothing remembered between runs to change that; no deadline: a command commits to disk.
    @settings(max_examples=EXAMPLES_PER_MODE, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(operation.as_strategy(mode, path_parameters=path_parameters))
    def call(case) -> None:
        response = case.call(base_url=base_url, session=session, headers=headers)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    call()
