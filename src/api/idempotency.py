"""``Idempotency-Key`` on every command: a retry gets the first answer, nothing is done twice.

A client that did not hear back (a timeout, a dropped connection) sends the same
command again with the same key. The first request with a key claims it in
``idempotency_keys``; once its response is final it is kept there, and a retry of the
same request gets it back byte for byte, with ``Idempotency-Replayed: true``, without
reaching the handler. The contract is in docs/commands.md.

Two halves, because the caller is known only once the guards have run, inside the
route: ``IdempotencyMiddleware`` (around each route) reads the body once into a
spooled file within the route's body limit (an upload goes to disk, not memory; the
guards are asked first, so only a caller who may send it gets that far),
fingerprints it, hands the same bytes on to the handler and holds the response until it
is kept; ``claim_or_replay`` (before the handler, after the guards) claims the key for
the caller, or answers a retry. ``Idempotency`` registers both.
"""

import hashlib
import json
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from typing import IO, Any

import anyio
import msgspec
import structlog
from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.utils import retry
from litestar import Request, Response
from litestar.config.app import AppConfig
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.plugins import InitPlugin
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ledger.errors import InvalidInput, LedgerError
from ledger.personal_data import Keyring
from ledger.storage import Database

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotency-Replayed"
COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_PATTERN = re.compile(r"[!-~]{1,200}")
"""Visible ASCII, no spaces: UUIDs, ULIDs, "village-list-2024-02/row-7"."""
KEY_LIFETIME_S = 24 * 60 * 60
IN_FLIGHT_LEASE_S = 15 * 60
"""A claim this old whose response never came (the server died) may be taken over: longer
than the slowest command, a 100 MB import."""
RETRY_AFTER_S = 1
GIVE_BACK_ATTEMPTS = 20
"""Tries, half a second apart, to keep a response or give a claim back while the database
does not answer (``_keep``, ``_give_back``): a restart's few seconds, not a long outage."""
KEPT_HEADERS = ("content-type", "location")
NOT_KEPT_4XX = frozenset({408, 409, 425, 429})
"""Refusals that say "not now" rather than "no": a retry should run the command again."""

_STATE_KEY = "idempotency"
_log = structlog.get_logger("api.idempotency")
_SPOOLED_IN_MEMORY_BYTES = 1024 * 1024
_REPLAY_CHUNK_BYTES = 1024 * 1024


class IdempotencyKeyReused(LedgerError):
    """The key was first used for another request: another body, route or method."""

    code = "idempotency-key-reused"


class IdempotencyKeyInFlight(LedgerError):
    """The first request with this key has not been answered yet."""

    code = "idempotency-key-in-flight"


@dataclass
class _Pending:
    """One keyed command on its way through: what the middleware learnt of the request,
    and the claim once ``claim_or_replay`` made it."""

    key: str
    request_hash: str
    claim_id: str | None = None
    caller: str = ""


class Idempotency(InitPlugin):
    """Registers the middleware and runs ``claim_or_replay`` before the app's own
    before-request hook (the strict JSON decoding), so a replay skips both."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.middleware.append(IdempotencyMiddleware)
        app_config.before_request = _first_claim(app_config.before_request)
        return app_config


def _first_claim(then: Callable[[Request], Awaitable[Any]] | None
                 ) -> Callable[[Request], Awaitable[Any]]:
    async def before_request(request: Request) -> Any:
        replay = await claim_or_replay(request)
        if replay is not None or then is None:
            return replay
        return await then(request)

    return before_request


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, b"idempotency-key")
        if scope["type"] != "http" or scope["method"] not in COMMAND_METHODS or key is None:
            await self._app(scope, receive, send)
            return
        if not KEY_PATTERN.fullmatch(key):
            raise InvalidInput(f"{HEADER} must be 1 to 200 visible ASCII characters without "
                               "spaces, such as a UUID", field=HEADER)
        # The guards run again inside the route; running them first here too means an
        # unauthenticated or forbidden upload is refused before anything is spooled.
        route_handler = scope["route_handler"]
        await route_handler.authorize_connection(route_handler.resolve_request_class()(scope))
        with SpooledTemporaryFile(max_size=_SPOOLED_IN_MEMORY_BYTES) as body:
            request_hash = await _spool(scope, receive, body)
            if request_hash is None:
                return  # the client left while sending: no one to answer
            pending = _Pending(key=key, request_hash=request_hash)
            scope.setdefault("state", {})[_STATE_KEY] = pending
            held = _HeldResponse(scope, pending, send)
            try:
                await self._app(scope, _replaying(body, receive), held.send)
            finally:
                if pending.claim_id is not None and not held.done:
                    with anyio.CancelScope(shield=True):
                        await anyio.to_thread.run_sync(_give_back, _db(scope), pending)


async def claim_or_replay(request: Request) -> Response | None:
    """Claim the request's key for its caller (None: go on to the handler), or answer a
    retry with the kept response; refuse a key used for another request, or still in
    flight."""
    pending: _Pending | None = request.scope.get("state", {}).get(_STATE_KEY)
    if pending is None:
        return None
    pending.caller = _caller(request)
    claim_id = uuid.uuid4().hex
    row = await anyio.to_thread.run_sync(
        _claim, _db(request.scope), pending, claim_id, request.method,
        request.scope.get("path_template", request.url.path))
    if row["request_hash"] != pending.request_hash:
        raise IdempotencyKeyReused(
            f"this {HEADER} was first used for another request ({row['method']} "
            f"{row['route']}, or another body): send a new key for a new command",
            field=HEADER)
    if row["claim_id"] == claim_id:
        pending.claim_id = claim_id
        return None
    if row["status"] is None:
        raise IdempotencyKeyInFlight(
            f"the first request with this {HEADER} is still being processed: retry in "
            f"{RETRY_AFTER_S} s to get its response", field=HEADER)
    keyring: Keyring = request.app.state.system.keyring
    headers = dict(json.loads(row["headers"]))
    return Response(keyring.unseal(row["body_sealed"]).encode(), status_code=row["status"],
                    media_type=headers.pop("content-type", None),
                    headers={**headers, REPLAYED_HEADER: "true"})


def _caller(request: Request) -> str:
    """Keys are scoped per caller when the guards authenticated one: another token's key
    neither collides with nor replays this one's."""
    caller = request.state.get("caller")
    if caller is None:
        return ""
    token_id = getattr(caller, "token_id", None)
    return f"token:{token_id}" if token_id is not None else f"actor:{caller.actor_id}"


def _claim(db: Database, pending: _Pending, claim_id: str, method: str,
           route: str) -> dict[str, Any]:
    """The key's row after trying to claim it: ours (``claim_id``), or the first one's.
    Expired keys go first; a claim past its lease is taken over."""
    now = int(time.time())
    key = {"caller": pending.caller, "idempotency_key": pending.key}
    with db.transaction() as tx:
        tx.execute("DELETE FROM idempotency_keys WHERE created_at < :expired",
                   {"expired": now - KEY_LIFETIME_S})
        tx.execute(
            "INSERT INTO idempotency_keys (caller, idempotency_key, method, route, "
            "request_hash, claim_id, created_at) VALUES (:caller, :idempotency_key, :method, "
            ":route, :request_hash, :claim_id, :created_at) "
            "ON CONFLICT (caller, idempotency_key) DO NOTHING",
            {**key, "method": method, "route": route, "request_hash": pending.request_hash,
             "claim_id": claim_id, "created_at": now})
        tx.execute(
            "UPDATE idempotency_keys SET claim_id = :claim_id, created_at = :created_at "
            "WHERE caller = :caller AND idempotency_key = :idempotency_key "
            "AND request_hash = :request_hash AND status IS NULL AND created_at < :abandoned",
            {**key, "claim_id": claim_id, "created_at": now,
             "request_hash": pending.request_hash, "abandoned": now - IN_FLIGHT_LEASE_S})
        row = tx.fetchone(
            "SELECT method, route, request_hash, claim_id, status, headers, body_sealed "
            "FROM idempotency_keys WHERE caller = :caller AND idempotency_key = :idempotency_key",
            key)
    assert row is not None  # inserted, or kept, in this transaction
    return row


@retry((OperationalError, InterfaceError), max_attempts=GIVE_BACK_ATTEMPTS, wait=0.5)
def _keep(db: Database, keyring: Keyring, pending: _Pending, status: int,
          headers: list[tuple[str, str]], body: bytes) -> None:
    # Tried again as ``_give_back`` is: the command is done, and a database that went away
    # just then must not turn its answer into a bare 500. Safe to repeat (by claim_id).
    # Command responses are JSON documents, so their bytes are UTF-8 text to seal.
    with db.transaction() as tx:
        tx.execute(
            "UPDATE idempotency_keys SET status = :status, headers = :headers, "
            "body_sealed = :body_sealed WHERE caller = :caller "
            "AND idempotency_key = :idempotency_key AND claim_id = :claim_id",
            {"status": status, "headers": json.dumps(headers),
             "body_sealed": keyring.seal(body.decode()), "caller": pending.caller,
             "idempotency_key": pending.key, "claim_id": pending.claim_id})


@retry((OperationalError, InterfaceError), max_attempts=GIVE_BACK_ATTEMPTS, wait=0.5)
def _give_back(db: Database, pending: _Pending) -> None:
    """Release the claim of a command that did not end in a final answer: a retry runs it.

    Tried again while the database does not answer: most of these commands failed because
    it went away (a restart), and a claim not given back holds every retry of the command
    at 409 ``idempotency-key-in-flight`` for ``IN_FLIGHT_LEASE_S``. The first attempts
    after a restart also meet the pool's dropped connections, which the pool then replaces.
    Deleting by ``claim_id`` is safe to repeat."""
    with db.transaction() as tx:
        tx.execute("DELETE FROM idempotency_keys WHERE caller = :caller "
                   "AND idempotency_key = :idempotency_key AND claim_id = :claim_id",
                   {"caller": pending.caller, "idempotency_key": pending.key,
                    "claim_id": pending.claim_id})


def is_final(status: int) -> bool:
    """Kept for retries: a success, or a refusal that will not change by retrying. A 5xx
    or a conflict is given back, so the retry runs the command again."""
    return 200 <= status < 300 or (400 <= status < 500 and status not in NOT_KEPT_4XX)


class _HeldResponse:
    """Holds a claimed command's response until it is kept (or its claim given back), so a
    client that has its answer can always get it again."""

    def __init__(self, scope: Scope, pending: _Pending, send: Send) -> None:
        self._scope, self._pending, self._send = scope, pending, send
        self._start: Message | None = None
        self._body: list[bytes] = []
        self.done = False

    async def send(self, message: Message) -> None:
        if self._pending.claim_id is None:  # refused or replayed: nothing to keep
            await self._send(message)
            return
        if message["type"] == "http.response.start":
            self._start = message
            return
        self._body.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        assert self._start is not None
        await anyio.to_thread.run_sync(self._finish, self._start["status"],
                                       self._start.get("headers", ()), b"".join(self._body))
        self.done = True
        await self._send(self._start)
        await self._send({"type": "http.response.body", "body": b"".join(self._body)})

    def _finish(self, status: int, raw_headers: Any, body: bytes) -> None:
        """Keep the answer, or give the claim back. When the database stays away past every
        try, the client still gets the command's own answer, not a 500: the command did
        (or did not) happen as that answer says. The claim is then left in flight: retries
        are told to wait, and once its lease has run out one runs the command again,
        which the ledger's own checks (the same stream, the same payment reference)
        keep from doing anything twice."""
        db = _db(self._scope)
        try:
            if not is_final(status):
                _give_back(db, self._pending)
                return
            headers = [(name.decode("latin-1").lower(), value.decode("latin-1"))
                       for name, value in raw_headers
                       if name.decode("latin-1").lower() in KEPT_HEADERS]
            _keep(db, self._scope["app"].state.system.keyring, self._pending, status,
                  headers, body)
        except (OperationalError, InterfaceError) as error:
            _log.warning("idempotency_claim_left_in_flight", status=status,
                         claim_id=self._pending.claim_id, lease_s=IN_FLIGHT_LEASE_S,
                         error=type(error).__name__)


async def _spool(scope: Scope, receive: Receive, into: IO[bytes]) -> str | None:
    """Copy the body into ``into`` within the route's limit, as Litestar would read it;
    return the request's fingerprint (None if the client disconnected)."""
    limit = scope["route_handler"].resolve_request_max_body_size() or math.inf
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestEntityTooLarge
    fingerprint = _Fingerprint(scope)
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge
        # Blocking writes, as Litestar's own spooling of uploads: page-cache fast.
        into.write(chunk)
        fingerprint.update(chunk)
        if not message.get("more_body", False):
            return fingerprint.hexdigest()


def _replaying(body: IO[bytes], receive: Receive) -> Receive:
    """The handler's ``receive``: the spooled body again, then the client's own messages
    (a disconnect)."""
    size = body.tell()
    body.seek(0)
    sent_all = False

    async def replay() -> Message:
        nonlocal sent_all
        if sent_all:
            return await receive()
        chunk = body.read(_REPLAY_CHUNK_BYTES)
        sent_all = body.tell() >= size
        return {"type": "http.request", "body": chunk, "more_body": not sent_all}

    return replay


class _Fingerprint:
    """SHA-256 of the method, path, query, media type and body. A multipart body's boundary
    is left out: a client that builds the same form again picks a new random one."""

    def __init__(self, scope: Scope) -> None:
        media_type, _, params = (_header(scope, b"content-type") or "").partition(";")
        boundary = re.search(r'boundary="?([^";]+)"?', params)
        self._delimiter = b"--" + boundary.group(1).encode() if boundary else None
        self._pending = b""
        self._digest = hashlib.sha256(msgspec.json.encode(
            [scope["method"], scope["path"], scope["query_string"].decode("latin-1"),
             media_type.strip().lower()]))

    def update(self, chunk: bytes) -> None:
        if self._delimiter is None:
            self._digest.update(chunk)
            return
        *parts, rest = (self._pending + chunk).split(self._delimiter)
        for part in parts:
            self._digest.update(part + b"\0boundary\0")
        # A delimiter cut in two by the chunking starts in the last len - 1 bytes.
        cut = max(len(rest) - (len(self._delimiter) - 1), 0)
        self._digest.update(rest[:cut])
        self._pending = rest[cut:]

    def hexdigest(self) -> str:
        self._digest.update(self._pending)
        return self._digest.hexdigest()


def _db(scope: Scope) -> Database:
    return scope["app"].state.system.storage.db


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
