"""Personal data at rest (UU PDP 27/2022): sealed in the log and the read models, opened
only with this ledger's keys, and the hash chain still verifies without them."""

import io
import json
from pathlib import Path

import msgspec
import pytest

from ledger import audit
from ledger.errors import KeysUnusable, PersonalDataUnreadable
from ledger.personal_data import (
    keyring_from,
    load_keyring,
    new_key_file_content,
    rotated,
    write_key_file,
)
from ledger.program import OpenProgram
from ledger.service import Actor
from ledger.settings import Settings
from ledger.system import open_system
from projections import views
from tests.unit.scenario import KOTAMOBAGU_OPENED, SITI_NIK, siti

CLERK = Actor("clerk-1", "enrollment_clerk")
SITI = siti()
PERSONAL = (SITI_NIK, "Siti", "Mokodompit", "Nurhayati", "Paputungan", "Adampe", "1985-03-05")


def settings(db_url: str, keys: dict) -> Settings:
    return Settings(database_url=db_url, data_dir=Path("/nonexistent"),
                    keys_json=json.dumps(keys))


def open_kotamobagu(system) -> None:
    system.ledger.open_program(msgspec.convert(msgspec.to_builtins(KOTAMOBAGU_OPENED),
                                               OpenProgram), CLERK)


def every_text_in(system, tables: tuple[str, ...]) -> str:
    with system.storage.db.snapshot() as tx:
        return "\n".join(str(row) for table in tables
                         for row in tx.fetchall(f"SELECT * FROM {table}"))


def test_the_log_and_the_read_models_hold_no_personal_data_in_the_clear(db_url):
    # Given Siti submitted to Kotamobagu's program
    with open_system(settings(db_url, new_key_file_content())) as system:
        open_kotamobagu(system)
        submitted = system.ledger.submit("kotamobagu-2024", SITI, CLERK)
        system.projections.catch_up()

        # When the stored events, an auditor's export and the read models are read raw
        with system.storage.db.snapshot() as tx:
            stored = "\n".join(bytes(row["state"]).decode() for row in tx.fetchall(
                "SELECT state FROM stored_events"))
        export = io.StringIO()
        audit.export(system.storage.db, export)
        read_models = every_text_in(system, ("participant_status", "participant_reasons"))

        # Then none of them holds her NIK, names, address or birth date in the clear...
        for text in (stored, export.getvalue(), read_models):
            assert not [word for word in PERSONAL if word in text]
        assert '"nik":"pd1:k1:' in stored
        # ...while the ledger itself reads her back whole, and shows her NIK masked
        person = system.ledger.participant("kotamobagu-2024", submitted.participant_id)
        assert person.data == SITI
        row = views.participant(system.storage.db, "kotamobagu-2024",
                                str(submitted.participant_id))
        assert row["nik_masked"] == "717401******0001"


def test_the_chain_verifies_without_the_keys(db_url, tmp_path):
    # Given a log with sealed personal data
    with open_system(settings(db_url, new_key_file_content())) as system:
        open_kotamobagu(system)
        system.ledger.submit("kotamobagu-2024", SITI, CLERK)
        # When an auditor verifies it, holding no key at all (audit reads stored bytes only)
        verdict = audit.verify(system.storage.db)
    # Then it verifies
    assert verdict.ok, verdict


def test_another_ledgers_keys_are_refused_before_anything_is_read(db_url):
    # Given a ledger that sealed Siti's data with its own keys
    with open_system(settings(db_url, new_key_file_content())) as system:
        open_kotamobagu(system)
        system.ledger.submit("kotamobagu-2024", SITI, CLERK)

    # When it is opened with other keys
    with pytest.raises(KeysUnusable) as refused:
        open_system(settings(db_url, new_key_file_content()))

    # Then it is refused, naming each key that is not its own
    assert "nik_hash_key differs" in refused.value.detail
    assert "data_key:k1 differs" in refused.value.detail


def test_after_a_rotation_new_data_is_sealed_with_the_new_key_and_old_data_still_opens(db_url):
    # Given Siti submitted under the first data key
    keys = new_key_file_content()
    with open_system(settings(db_url, keys)) as system:
        open_kotamobagu(system)
        siti_id = system.ledger.submit("kotamobagu-2024", SITI, CLERK).participant_id

    # When the keys are rotated and another candidate is submitted
    other = siti(nik="7174014503850002", full_name="Warga Dua")
    with open_system(settings(db_url, rotated(keys))) as system:
        other_id = system.ledger.submit("kotamobagu-2024", other, CLERK).participant_id
        system.projections.catch_up()

        # Then both read back whole, the new one sealed under k2
        assert system.ledger.participant("kotamobagu-2024", siti_id).data == SITI
        assert system.ledger.participant("kotamobagu-2024", other_id).data == other
        with system.storage.db.snapshot() as tx:
            states = [bytes(row["state"]).decode() for row in tx.fetchall(
                "SELECT state FROM stored_events WHERE topic = 'participant.submitted.v1'")]
        assert sorted(s.split('"nik":"')[1][:7] for s in states) == ["pd1:k1:", "pd1:k2:"]
        # ...and the same NIK still finds the same person: the hash key never rotates
        again = system.ledger.submit("kotamobagu-2024", SITI, CLERK)
        assert again.participant_id == siti_id


def test_a_keyring_that_dropped_an_old_key_is_refused(db_url):
    # Given data sealed under k1, then keys rotated to k2
    keys = new_key_file_content()
    with open_system(settings(db_url, keys)) as system:
        open_kotamobagu(system)
        system.ledger.submit("kotamobagu-2024", SITI, CLERK)
    newer = rotated(keys)
    with open_system(settings(db_url, newer)):
        pass

    # When k1 is dropped from the keyring
    without_k1 = {**newer, "data_keys": {"k2": newer["data_keys"]["k2"]}}
    with pytest.raises(KeysUnusable) as refused:
        open_system(settings(db_url, without_k1))

    # Then the ledger refuses to open, naming the missing key
    assert "data_key:k1 is missing" in refused.value.detail


@pytest.mark.parametrize(("keys_json", "key_file", "named"), [
    ("not json", None, "LEDGER_KEYS is not valid JSON"),
    ('{"data_keys": {}}', None, "LEDGER_KEYS has no data_keys"),
    ('{"nik_hash_key": "c2hvcnQ=", "active": "k1", "data_keys": {"k1": "c2hvcnQ="}}', None,
     "LEDGER_KEYS data_keys.k1 must be 32 random bytes in base64"),
    (None, "missing.json", "does not exist"),
])
def test_unusable_key_settings_are_refused_by_name(tmp_path, keys_json, key_file, named):
    with pytest.raises(KeysUnusable) as refused:
        load_keyring(keys_json, tmp_path / key_file if key_file else None, tmp_path)
    assert named in refused.value.detail


def test_with_no_key_configured_a_key_file_only_its_owner_reads_is_made_once(tmp_path):
    first = load_keyring(None, None, tmp_path)
    again = load_keyring(None, None, tmp_path)

    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
    assert first.fingerprints == again.fingerprints


def test_a_key_file_is_read_from_its_path(tmp_path):
    keys = new_key_file_content()
    write_key_file(tmp_path / "ledger-keys.json", keys)

    loaded = load_keyring(None, tmp_path / "ledger-keys.json", tmp_path / "data")

    assert loaded.fingerprints == keyring_from(keys, "keys").fingerprints
    assert not (tmp_path / "data" / "keys.json").exists()


def test_a_sealed_value_altered_or_opened_with_another_key_does_not_open():
    keyring = keyring_from(new_key_file_content(), "keys")
    sealed = keyring.seal("Siti Mokodompit")
    altered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]

    for attempt in (lambda: keyring.unseal(altered),
                    lambda: keyring_from(new_key_file_content(), "other").unseal(sealed),
                    lambda: keyring.unseal("Siti Mokodompit")):
        with pytest.raises(PersonalDataUnreadable):
            attempt()
    assert keyring.unseal(sealed) == "Siti Mokodompit"


def test_the_same_nik_has_unrelated_stream_ids_under_different_hash_keys(tmp_path):
    # A stream id derived from the NIK alone could be reversed by trying every NIK
    one = keyring_from(new_key_file_content(), "one")
    other = keyring_from(new_key_file_content(), "other")

    assert one.nik_hash(SITI_NIK) == one.nik_hash(SITI_NIK)
    assert one.nik_hash(SITI_NIK) != other.nik_hash(SITI_NIK)
    assert SITI_NIK not in one.nik_hash(SITI_NIK)
