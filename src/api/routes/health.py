"""Liveness and readiness, for load balancers, the compose file and orchestrators.

``/health`` says the process answers and touches nothing else: a database outage must
not get healthy processes restarted. ``/ready`` says whether this process should be
sent traffic: its database answers, its schema is current, and the slowest projection
is at most ``LEDGER_READY_MAX_LAG`` events behind the log (a stuck worker would leave
every read stale). Both are public: a probe has no token.
"""

from collections.abc import Callable

import msgspec
import structlog
from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from api.metrics import projection_lags
from api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, Problem
from ledger.storage import pending_migrations
from ledger.system import System

_log = structlog.get_logger("api.ready")


class Health(msgspec.Struct):
    status: str


class Check(msgspec.Struct):
    ok: bool
    detail: str


class Readiness(msgspec.Struct):
    status: str
    checks: dict[str, Check]


class NotReady(Problem, kw_only=True):
    checks: dict[str, Check]


@get("/health", sync_to_thread=False, tags=["health"])
def health() -> Health:
    return Health(status="ok")


@get("/ready", sync_to_thread=True, tags=["health"],
     responses={503: ResponseSpec(NotReady, description="Not ready: the failed checks",
                                  media_type=PROBLEM_MEDIA_TYPE, generate_examples=False)})
def ready(state: State) -> Response[Readiness | NotReady]:
    system: System = state.system
    checks = {name: _run(name, check, system) for name, check in CHECKS.items()}
    failed = [name for name, check in checks.items() if not check.ok]
    if failed:
        detail = "failed: " + "; ".join(f"{name} ({checks[name].detail})" for name in failed)
        return Response(NotReady(type=PROBLEM_TYPE_BASE + "not-ready", title="Not ready",
                                 status=503, detail=detail, code="not-ready", instance="/ready",
                                 checks=checks),
                        status_code=503, media_type=PROBLEM_MEDIA_TYPE)
    return Response(Readiness(status="ready", checks=checks))


def _database(system: System) -> Check:
    with system.storage.db.snapshot() as tx:
        tx.fetchone("SELECT 1 AS one")
    return Check(ok=True, detail="answers")


def _migrations(system: System) -> Check:
    # As the service's own role, which may read yoyo's log though not migrate; this opens
    # a connection of its own, which a probe every few seconds can afford.
    pending = pending_migrations(system.settings.database_url)
    if pending:
        return Check(ok=False, detail="pending: " + ", ".join(pending))
    return Check(ok=True, detail="current")


def _projection_lag(system: System) -> Check:
    _, lags = projection_lags(system)
    slowest = max(lags, key=lags.__getitem__)
    limit = system.settings.ready_max_lag
    return Check(ok=lags[slowest] <= limit,
                 detail=f"{slowest} is {lags[slowest]} events behind (at most {limit})")


CHECKS: dict[str, Callable[[System], Check]] = {
    "database": _database, "migrations": _migrations, "projection_lag": _projection_lag}


def _run(name: str, check: Callable[[System], Check], system: System) -> Check:
    """A check that fails by raising (the database is down) is a failed check, named by
    the exception's type only: /ready is public, and error messages name hosts and roles."""
    try:
        return check(system)
    except Exception as exc:
        _log.warning("ready-check-failed", check=name, exc_info=exc)
        return Check(ok=False, detail=f"error ({type(exc).__name__})")
