"""What handlers receive by dependency injection: the system, the caller and the actor
that the bearer token names, the command id."""

import uuid
from typing import Annotated

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import HeaderParameter

from api.auth import Caller
from api.civil_registry import RegistrySource
from ledger.errors import InvalidInput
from ledger.service import Actor
from ledger.system import System


def provide_system(state: State) -> System:
    return state.system


def provide_registry(state: State) -> RegistrySource:
    return state.registry


def provide_caller(request: Request) -> Caller:
    """Set by the guard (api/auth.py) on every route that is not public."""
    return request.state.caller


def provide_actor(request: Request) -> Actor:
    """Who every event a command appends is recorded as: the token's holder and role."""
    caller: Caller = request.state.caller
    return Actor(caller.actor_id, caller.role)


def provide_command_id(
    idempotency_key: Annotated[str | None, HeaderParameter(
        name="Idempotency-Key", max_length=200,
        description="Recorded with the events as the command id.")] = None,
) -> str | None:
    return idempotency_key


DEPENDENCIES = {
    "system": Provide(provide_system, sync_to_thread=False),
    "registry": Provide(provide_registry, sync_to_thread=False),
    "caller": Provide(provide_caller, sync_to_thread=False),
    "actor": Provide(provide_actor, sync_to_thread=False),
    "command_id": Provide(provide_command_id, sync_to_thread=False),
}


def participant_uuid(participant_id: str) -> uuid.UUID:
    """Parse a path's participant id; a malformed one is the client's mistake (400), not an
    unknown route (404), so the path parameter is a string and checked here."""
    try:
        return uuid.UUID(participant_id)
    except ValueError:
        raise InvalidInput("participant_id must be a UUID such as "
                           "0b7c2f8e-6a51-5c1e-9d3f-2a4b6c8d0e1f",
                           field="participant_id") from None
