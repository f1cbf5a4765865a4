"""Bearer tokens of the HTTP API: who holds one, in which role, over which regions.

A token's secret is shown once, when it is made; the database keeps only its SHA-256.
A slow, salted hash (bcrypt, argon2) exists to make guessing a low-entropy password
expensive; a secret of 32 random bytes cannot be guessed however fast the hash, so a
plain SHA-256 is enough, and being deterministic it is what a request is looked up by.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ledger.errors import InvalidInput, TokenNotFound, Unauthenticated
from ledger.storage import Database

ENROLLMENT_CLERK = "enrollment_clerk"
FINANCE_OFFICER = "finance_officer"
CLAIMS_OFFICER = "claims_officer"
AUDITOR = "auditor"
ADMIN = "admin"
ROLES = (ENROLLMENT_CLERK, FINANCE_OFFICER, CLAIMS_OFFICER, AUDITOR, ADMIN)

NATIONAL = "national"
"""The scope of a token that reaches every region."""
SECRET_PREFIX = "prl_"
"""Marks a string as this ledger's token, so that a secret scanner can find a leaked one."""
SECRET_BYTES = 32
_REGION_CODE = re.compile(r"\d{4}")
_COLUMNS = "token_id, holder_name, role, regions, created_at, expires_at, revoked_at"


@dataclass(frozen=True)
class Token:
    token_id: str
    holder_name: str
    role: str
    regions: tuple[str, ...]
    """4-digit region codes, or (NATIONAL,)."""
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def covers(self, region_code: str) -> bool:
        return NATIONAL in self.regions or region_code in self.regions


def create_token(db: Database, holder_name: str, role: str, regions: list[str],
                 expires_days: int, now: datetime) -> tuple[Token, str]:
    """A new token and its secret: the only time the secret exists outside the caller's
    hands. ``regions`` is a list of 4-digit codes, or [NATIONAL]."""
    if not holder_name.strip():
        raise InvalidInput("a token needs its holder's name", field="name")
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}", field="role")
    if regions != [NATIONAL] and (not regions or not all(map(_REGION_CODE.fullmatch, regions))):
        raise InvalidInput("a token's scope is one or more 4-digit region codes, e.g. 7174, "
                           "or national", field="region")
    if expires_days < 1:
        raise InvalidInput("a token lasts at least one day", field="expires_days")
    secret = SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    token = Token(token_id="tok-" + secrets.token_hex(8), holder_name=holder_name.strip(),
                  role=role, regions=tuple(sorted(set(regions))), created_at=now,
                  expires_at=now + timedelta(days=expires_days), revoked_at=None)
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO api_tokens (token_id, secret_sha256, holder_name, role, regions, "
            "created_at, expires_at, revoked_at) VALUES (:token_id, :secret_sha256, "
            ":holder_name, :role, :regions, :created_at, :expires_at, NULL)",
            {"token_id": token.token_id, "secret_sha256": _sha256(secret),
             "holder_name": token.holder_name, "role": role, "regions": " ".join(token.regions),
             "created_at": now.isoformat(), "expires_at": token.expires_at.isoformat()})
    return token, secret


def authenticate(db: Database, secret: str, now: datetime) -> Token:
    """The live token whose secret this is; refused alike whether unknown, expired or
    revoked, with the reason in the detail for the holder to act on."""
    with db.snapshot() as tx:
        row = tx.fetchone(f"SELECT {_COLUMNS} FROM api_tokens "
                          "WHERE secret_sha256 = :secret_sha256",
                          {"secret_sha256": _sha256(secret)})
    if row is None:
        raise Unauthenticated("the bearer token is not one this ledger issued")
    token = _token(row)
    if token.revoked_at is not None:
        raise Unauthenticated(f"token {token.token_id} was revoked")
    if token.expires_at <= now:
        raise Unauthenticated(f"token {token.token_id} expired on "
                              f"{token.expires_at:%Y-%m-%d}")
    return token


def revoke_token(db: Database, token_id: str, now: datetime) -> Token:
    """Revoke a token (again is harmless: the first revocation time stays)."""
    with db.transaction() as tx:
        tx.execute("UPDATE api_tokens SET revoked_at = :now "
                   "WHERE token_id = :token_id AND revoked_at IS NULL",
                   {"now": now.isoformat(), "token_id": token_id})
        row = tx.fetchone(f"SELECT {_COLUMNS} FROM api_tokens WHERE token_id = :token_id",
                          {"token_id": token_id})
    if row is None:
        raise TokenNotFound(f"no token {token_id!r} (ledger token list shows them)",
                            field="token_id")
    return _token(row)


def list_tokens(db: Database) -> list[Token]:
    with db.snapshot() as tx:
        rows = tx.fetchall(f"SELECT {_COLUMNS} FROM api_tokens ORDER BY created_at, token_id")
    return [_token(row) for row in rows]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _token(row: dict) -> Token:
    revoked_at = row["revoked_at"]
    return Token(token_id=row["token_id"], holder_name=row["holder_name"], role=row["role"],
                 regions=tuple(row["regions"].split()),
                 created_at=datetime.fromisoformat(row["created_at"]),
                 expires_at=datetime.fromisoformat(row["expires_at"]),
                 revoked_at=datetime.fromisoformat(revoked_at) if revoked_at else None)
