"""Liveness: the process answers (load balancers and the compose file poll this)."""

import msgspec
from litestar import get


class Health(msgspec.Struct):
    status: str


@get("/health", sync_to_thread=False, tags=["health"])
def health() -> Health:
    return Health(status="ok")
