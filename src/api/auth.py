"""Who is calling, and whether they may: the guard every route passes (docs/access.md).

The guard authenticates ``Authorization: Bearer <secret>`` against the tokens
(ledger/tokens.py), puts the caller on ``request.state.caller``, checks the role against
the permission table (api/access.py) and, for a route under a program, that the program's
region is in the caller's scope. It refuses before the handler runs, so a refused command
appends nothing. Routes whose scope is not in their path (a stream's history, opening a
program) check it themselves with ``ensure_in_scope``.
"""

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from api.access import allowed_roles, is_public
from ledger.errors import OutsideRegion, ProgramNotFound, RoleForbidden, Unauthenticated
from ledger.system import System
from ledger.tokens import NATIONAL, authenticate, utc_now


class Caller(msgspec.Struct, frozen=True):
    token_id: str
    actor_id: str
    """The token holder's name: recorded as the actor of every event the caller appends."""
    role: str
    regions: tuple[str, ...]
    """4-digit region codes, or ("national",)."""

    def covers(self, region_code: str) -> bool:
        return NATIONAL in self.regions or region_code in self.regions


def authorise(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """The app's one guard. Litestar runs a synchronous guard in a worker thread, which
    is where the database lookups belong."""
    template = connection.scope["path_template"]
    if is_public(template):
        return
    system: System = connection.app.state.system
    token = authenticate(system.storage.db, _bearer_secret(connection), utc_now())
    caller = Caller(token_id=token.token_id, actor_id=token.holder_name, role=token.role,
                    regions=token.regions)
    connection.state.caller = caller
    method = connection.scope["method"]
    if caller.role not in allowed_roles(method, template):
        raise RoleForbidden(f"a {caller.role} may not {method} {template}")
    program_id = connection.path_params.get("program_id")
    if program_id is not None:
        region_code = _program_region(connection, system, program_id)
        if region_code is not None:  # an unknown program is the handler's 404
            ensure_in_scope(caller, region_code)


def ensure_in_scope(caller: Caller, region_code: str) -> None:
    if not caller.covers(region_code):
        raise OutsideRegion(f"region {region_code} is outside this token's scope "
                            f"({', '.join(caller.regions)})")


def ensure_stream_in_scope(caller: Caller, system: System, program_id: str | None) -> None:
    """A stream of a program in scope; a stream that names no program (a payment
    reference's, a KPJ's) only for a national caller, since nothing says whose it is."""
    if program_id is None:
        if NATIONAL not in caller.regions:
            raise OutsideRegion("this stream names no program, so only a national token "
                                "may read it")
        return
    ensure_in_scope(caller, system.ledger.program(program_id).region_code)


def _bearer_secret(connection: ASGIConnection) -> str:
    scheme, _, secret = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("send 'Authorization: Bearer <token>' (ledger token create)")
    return secret.strip()


def _program_region(connection: ASGIConnection, system: System,
                    program_id: str) -> str | None:
    """The program's region code, remembered per app: it is fixed when the program opens,
    and reading the program's stream on every request would cost a query."""
    known: dict[str, str] = connection.app.state.program_regions
    if program_id not in known:
        try:
            known[program_id] = system.ledger.program(program_id).region_code
        except ProgramNotFound:
            return None
    return known[program_id]
