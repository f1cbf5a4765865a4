"""Sealed values, NIK hashes and participant ids are stored for good: the same inputs must
give the same text in every version of the ledger, or a rebuilt read model would no longer
equal the live one and a NIK would no longer find its participant. The expected values were
computed with the first implementation (``hmac.digest`` and ``uuid.uuid5`` one call at a
time) and are pinned here as known answers."""

import base64
import hmac
import uuid

import pytest

from ledger.errors import PersonalDataUnreadable
from ledger.participant import PARTICIPANT_NAMESPACE, stream_id
from ledger.personal_data import keyring_from, rotated

KEYS = {"nik_hash_key": base64.b64encode(bytes(range(32))).decode(), "active": "k1",
        "data_keys": {"k1": base64.b64encode(bytes(range(32, 64))).decode()}}
NIK = "7174014503850001"
NIK_HASH = "d16d530fd0c84d9ed5d563a5af61ca3ec260e211e8fbd8b2153fa1637652756c"


def test_a_name_and_a_nik_seal_to_the_same_text_as_they_always_did():
    keyring = keyring_from(KEYS, "test keys")

    sealed_name = keyring.seal("Siti Nurhayati Mokodompit")
    sealed_nik = keyring.seal(NIK)

    assert sealed_name == ("pd1:k1:FceWl2Ktz7+4jJheaz4BVJv23YwRka0FjJt0xjQ5qGQPZ5Kme7oCxZ7T+CMPeF8v"
                           "K2TmbM0=")
    assert sealed_nik == "pd1:k1:oFTY+ms4La2MoZCBKRwjSupLbAiILQTfG+DHbNkSVZc29awSun+Cg29Ahd4="
    assert keyring.unseal(sealed_name) == "Siti Nurhayati Mokodompit"


def test_the_nik_hash_is_hmac_sha256_of_the_nik_under_the_hash_key():
    keyring = keyring_from(KEYS, "test keys")

    hashed = {nik: keyring.nik_hash(nik) for nik in (NIK, "", "7371" * 4, "x" * 200)}

    assert hashed[NIK] == NIK_HASH
    assert hashed == {nik: hmac.digest(bytes(range(32)), nik.encode(), "sha256").hex()
                      for nik in hashed}


def test_a_participant_id_is_the_uuid5_of_the_program_and_the_nik_hash():
    participant = stream_id("kotamobagu-2024", NIK_HASH)

    assert participant == uuid.UUID("9d3387db-7ffc-5bb4-8d85-93292a51bf2e")
    assert participant == uuid.uuid5(PARTICIPANT_NAMESPACE,
                                     f"participant/kotamobagu-2024/{NIK_HASH}")


def test_a_value_read_back_seals_as_if_sealed_afresh_also_after_a_rotation():
    old = keyring_from(KEYS, "test keys")
    sealed_before_rotation = old.seal("Siti Nurhayati Mokodompit")
    rotated_keys = rotated(KEYS)
    reading = keyring_from(rotated_keys, "rotated keys")

    opened = [reading.unseal(sealed_before_rotation), reading.unseal(reading.seal(NIK))]

    afresh = keyring_from(rotated_keys, "rotated keys")
    assert opened == ["Siti Nurhayati Mokodompit", NIK]
    assert reading.seal("Siti Nurhayati Mokodompit") == afresh.seal("Siti Nurhayati Mokodompit")
    assert reading.seal("Siti Nurhayati Mokodompit").startswith("pd1:k2:")
    assert reading.seal(NIK) == afresh.seal(NIK)


def test_a_value_opened_again_is_the_same_and_an_altered_copy_still_does_not_open():
    # given a keyring that has opened a sealed NIK once
    keyring = keyring_from(KEYS, "test keys")
    sealed = keyring_from(KEYS, "test keys").seal(NIK)
    first = keyring.unseal(sealed)
    body = sealed.removeprefix("pd1:k1:")
    altered = "pd1:k1:" + ("A" if body[0] != "A" else "B") + body[1:]

    # when it opens the same text again, and a copy with one character changed
    second = keyring.unseal(sealed)

    # then the same text opens to the same NIK, and the altered one is refused
    assert first == second == NIK
    with pytest.raises(PersonalDataUnreadable):
        keyring.unseal(altered)


def test_a_value_copied_sealed_is_the_text_sealing_gives_under_the_active_key():
    # given a name sealed before a rotation, and one sealed after it
    before = keyring_from(KEYS, "test keys").seal("Siti Nurhayati Mokodompit")
    rotated_keys = rotated(KEYS)
    after = keyring_from(rotated_keys, "rotated keys").seal("Warga Dua")

    # when a read model copies both sealed, under the rotated keys
    copying = keyring_from(rotated_keys, "rotated keys")
    copied = [copying.resealed(before), copying.resealed(after)]

    # then the newer is copied as it is, and the older is sealed again under the new key:
    # each the text sealing its name afresh gives
    afresh = keyring_from(rotated_keys, "rotated keys")
    assert copied[1] is after
    assert copied == [afresh.seal("Siti Nurhayati Mokodompit"), afresh.seal("Warga Dua")]
    assert all(text.startswith("pd1:k2:") for text in copied)
