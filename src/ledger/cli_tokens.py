"""``ledger token``: bearer tokens of the HTTP API (docs/access.md).

    ledger token create --name NAME --role ROLE (--region CODE ... | --national)
                        [--expires-days N]      prints the secret, once
    ledger token list                           ids, holders, roles, scopes: never a secret
    ledger token revoke TOKEN_ID

The secret is printed by ``create`` only: the database keeps its hash, so a lost secret is
replaced by a new token, never shown again.
"""

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from ledger import demo
from ledger.cli_common import where
from ledger.settings import Settings
from ledger.storage import Database, open_storage
from ledger.tokens import NATIONAL, ROLES, create_token, list_tokens, revoke_token, utc_now

DEFAULT_EXPIRES_DAYS = 90


def token_create(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    regions = [NATIONAL] if args.national else args.region
    with _database(settings) as db:
        token, secret = create_token(db, args.name, args.role, regions, args.expires_days,
                                     utc_now())
    print(f"token {token.token_id} for {token.holder_name}: {token.role}, "
          f"{_scope(token.regions)}, expires {token.expires_at:%Y-%m-%d}")
    print(f"secret (shown this once; send it as 'Authorization: Bearer ...'): {secret}")


def token_list(settings: Settings, _: argparse.Namespace) -> None:
    where(settings)
    with _database(settings) as db:
        tokens = list_tokens(db)
    now = utc_now()
    print(demo.table(
        ("token", "holder", "role", "scope", "expires", "state"),
        [(t.token_id, t.holder_name, t.role, _scope(t.regions), f"{t.expires_at:%Y-%m-%d}",
          "revoked" if t.revoked_at else "expired" if t.expires_at <= now else "active")
         for t in tokens]))


def token_revoke(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    with _database(settings) as db:
        token = revoke_token(db, args.token_id, utc_now())
    print(f"token {token.token_id} of {token.holder_name} revoked at "
          f"{token.revoked_at:%Y-%m-%d %H:%M} UTC: the API refuses it from now on")


@contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    """The database alone: tokens need neither the log nor the personal-data keys."""
    storage = open_storage(settings.database_url, migration_url=settings.migration_url,
                           pool_size=1)
    try:
        yield storage.db
    finally:
        storage.close()


def _scope(regions: tuple[str, ...]) -> str:
    return "national" if NATIONAL in regions else "regions " + ", ".join(regions)


def add_parsers(commands: argparse._SubParsersAction) -> None:
    token = commands.add_parser("token", help="API bearer tokens: create, list, revoke"
                                ).add_subparsers(required=True)
    create = token.add_parser("create", help="a new token; its secret is printed once")
    create.add_argument("--name", required=True, help="who holds it (recorded on every event)")
    create.add_argument("--role", required=True, choices=ROLES)
    scope = create.add_mutually_exclusive_group(required=True)
    scope.add_argument("--region", action="append", metavar="CODE",
                       help="a 4-digit region code; repeat for more than one")
    scope.add_argument("--national", action="store_true", help="every region")
    create.add_argument("--expires-days", type=int, default=DEFAULT_EXPIRES_DAYS, metavar="N",
                        help=f"days until it expires (default {DEFAULT_EXPIRES_DAYS})")
    create.set_defaults(command=token_create)
    token.add_parser("list", help="every token, never a secret").set_defaults(command=token_list)
    revoke = token.add_parser("revoke", help="refuse a token from now on")
    revoke.add_argument("token_id", metavar="TOKEN_ID")
    revoke.set_defaults(command=token_revoke)
