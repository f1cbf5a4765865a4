"""``ledger token``: an admin issues, lists and revokes the API's bearer tokens."""

import re

import pytest

from ledger.errors import Unauthenticated
from ledger.storage import open_storage
from ledger.tokens import authenticate, utc_now
from tests.test_cli import ledger


def stored_rows(db_url: str) -> list[dict]:
    storage = open_storage(db_url, apply_migrations=False, pool_size=1)
    try:
        with storage.db.snapshot() as tx:
            return tx.fetchall("SELECT token_id, secret_sha256, holder_name, role, regions, "
                               "created_at, expires_at, revoked_at FROM api_tokens")
    finally:
        storage.close()


def authenticated_as(db_url: str, secret: str) -> str:
    storage = open_storage(db_url, apply_migrations=False, pool_size=1)
    try:
        return authenticate(storage.db, secret, utc_now()).holder_name
    finally:
        storage.close()


def test_a_token_is_shown_once_listed_without_its_secret_and_refused_once_revoked(
        tmp_path, db_url):
    # Given a finance officer's token for Kotamobagu and Bolaang Mongondow
    made = ledger(tmp_path, "token", "create", "--name", "Rina Mokoginta", "--role",
                  "finance_officer", "--region", "7174", "--region", "7101",
                  "--expires-days", "30", database_url=db_url)
    assert made.returncode == 0, made.stderr
    secret = re.search(r"(prl_\S+)", made.stdout).group(1)
    token_id = re.search(r"token (tok-[0-9a-f]+)", made.stdout).group(1)

    # When the tokens are listed
    listed = ledger(tmp_path, "token", "list", database_url=db_url)

    # Then the list names it, its role and scope, and neither the secret nor its hash
    (row,) = stored_rows(db_url)
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"{token_id}\s+Rina Mokoginta\s+finance_officer\s+regions 7101, 7174"
                     r"\s+\S+\s+active", listed.stdout)
    assert secret not in listed.stdout + listed.stderr
    assert row["secret_sha256"] not in listed.stdout
    assert secret not in str(row), "only the secret's hash is stored"
    assert authenticated_as(db_url, secret) == "Rina Mokoginta"

    # And when it is revoked, it is listed as revoked and authenticates no more
    revoked = ledger(tmp_path, "token", "revoke", token_id, database_url=db_url)
    assert revoked.returncode == 0, revoked.stderr
    assert re.search(rf"{token_id}\s.*\srevoked",
                     ledger(tmp_path, "token", "list", database_url=db_url).stdout)
    with pytest.raises(Unauthenticated, match="revoked"):
        authenticated_as(db_url, secret)


def test_a_national_token_and_the_refusals(tmp_path, db_url):
    national = ledger(tmp_path, "token", "create", "--name", "Inspektorat", "--role", "auditor",
                      "--national", database_url=db_url)
    bad_region = ledger(tmp_path, "token", "create", "--name", "Rina", "--role", "admin",
                        "--region", "71", database_url=db_url)
    bad_role = ledger(tmp_path, "token", "create", "--name", "Rina", "--role", "bupati",
                      "--national", database_url=db_url)
    no_scope = ledger(tmp_path, "token", "create", "--name", "Rina", "--role", "admin",
                      database_url=db_url)
    unknown = ledger(tmp_path, "token", "revoke", "tok-0000", database_url=db_url)

    assert national.returncode == 0 and "auditor, national" in national.stdout
    assert bad_region.returncode == 1 and "(invalid-input) [region]" in bad_region.stderr
    assert bad_role.returncode == no_scope.returncode == 2
    assert unknown.returncode == 1 and "(token-not-found)" in unknown.stderr
    assert len(stored_rows(db_url)) == 1
