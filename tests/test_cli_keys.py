"""``ledger keys``: a data officer makes, rotates and checks the personal-data keys."""

import json

from tests.test_cli import ledger


def test_keys_are_made_rotated_and_shown_by_fingerprint_never_printed(tmp_path, db_url):
    # Given a ledger whose keys were made on first use in its data directory
    first = ledger(tmp_path, "keys", "show", database_url=db_url)
    key_file = tmp_path / "data" / "keys.json"
    keys = json.loads(key_file.read_text(encoding="utf-8"))

    # When the data key is rotated
    rotated = ledger(tmp_path, "keys", "rotate", database_url=db_url)
    shown = ledger(tmp_path, "keys", "show", database_url=db_url)

    # Then k2 is active, k1 stays to read old data, and no key ever reaches the output
    assert first.returncode == rotated.returncode == shown.returncode == 0, shown.stderr
    assert "active data key: k1" in first.stdout and "active data key: k2" in shown.stdout
    assert "data_key:k1" in shown.stdout and "data_key:k2" in shown.stdout
    after = json.loads(key_file.read_text(encoding="utf-8"))
    assert after["data_keys"]["k1"] == keys["data_keys"]["k1"]
    assert after["nik_hash_key"] == keys["nik_hash_key"]
    secrets = [after["nik_hash_key"], *after["data_keys"].values()]
    for run in (first, rotated, shown):
        assert not [s for s in secrets if s in run.stdout + run.stderr]


def test_a_key_file_of_another_ledger_is_refused_and_an_existing_one_never_overwritten(
        tmp_path, db_url):
    # Given a ledger with its own keys, and a fresh key file made apart
    assert ledger(tmp_path, "keys", "show", database_url=db_url).returncode == 0
    other = tmp_path / "other-keys.json"
    made = ledger(tmp_path, "keys", "new", "--output", str(other))
    content = other.read_text(encoding="utf-8")

    # When the ledger is pointed at the other file, and a new file is asked over it
    refused = ledger(tmp_path, "keys", "show", database_url=db_url,
                     env={"LEDGER_KEY_FILE": str(other)})
    again = ledger(tmp_path, "keys", "new", "--output", str(other))

    # Then both are refused by name and the file is unchanged
    assert made.returncode == 0 and other.stat().st_mode & 0o777 == 0o600
    assert refused.returncode == 1
    assert "keys-unusable" in refused.stderr and "nik_hash_key differs" in refused.stderr
    assert again.returncode == 1 and "never overwritten" in again.stderr
    assert other.read_text(encoding="utf-8") == content
