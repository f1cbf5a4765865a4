"""Personal data at rest (UU PDP 27/2022): sealed values and a keyed NIK hash.

NIKs, names, mothers' maiden names, birth dates and addresses are stored
sealed: AES-256-GCM under a data key named in the value itself,
``pd1:<key id>:<base64 of nonce + ciphertext + tag>``, so keys can rotate
(new values under the active key, old ones still opened by their own key).
The nonce is synthetic, an HMAC of the value under a key derived from the data
key (as in SIV modes): one value under one key always seals the same, so a
rebuilt or replayed read model equals the live one byte for byte. What that
gives away is only that two sealed values are equal.
Lookups and duplicate checks never need the NIK itself: they use
``nik_hash``, an HMAC-SHA256 of the NIK under a separate key that never
rotates, because participant stream ids and read-model joins are built on it.

The keys come from ``LEDGER_KEYS`` (the key file's JSON, for containers whose
secrets arrive in the environment) or ``LEDGER_KEY_FILE``; with neither, from
``keys.json`` in the data directory, which is created on first use. There is
no key in the code. A database remembers a fingerprint of every key it has
seen (``key_fingerprints``), so a wrong or missing key is refused when the
ledger opens rather than found later as unreadable rows.
"""

import base64
import binascii
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.errors import KeysUnusable, PersonalDataUnreadable

SEALED_PREFIX = "pd1:"
KEY_BYTES = 32
_NONCE_BYTES = 12
_CHECK_MESSAGE = b"pekerja-rentan-ledger key fingerprint"
_NONCE_KEY_LABEL = b"pekerja-rentan-ledger synthetic nonce"
_OPENED_MAX_CHARS = 200
"""Only values this short are kept: names, NIKs, dates, addresses; never a whole body."""
_UNSEALED_MAX = 20_000
"""Sealed values ``unseal`` remembers the plaintext of at most (see ``_keep_unsealed``):
a program's monthly imported bills (and generated ones recorded before they stopped
naming NIKs) repeat the same NIKs, which then open from memory. Larger programs gain
little from a larger bound (a 35,000-member program's as-of replay took the same time
with 50,000) while an import's memory would grow with it."""


class Keyring:
    def __init__(self, data_keys: Mapping[str, bytes], active: str, nik_hash_key: bytes) -> None:
        if active not in data_keys:
            raise KeysUnusable(f"the active data key {active!r} is not among the data keys")
        self.active = active
        self._ciphers = {key_id: AESGCM(key) for key_id, key in data_keys.items()}
        self._active_cipher = self._ciphers[active]
        self._active_prefix = f"{SEALED_PREFIX}{active}:"
        self._nonce_hmac = _Hmac(hmac.digest(data_keys[active], _NONCE_KEY_LABEL, "sha256"))
        self._fingerprints = {f"data_key:{key_id}": _fingerprint(key)
                              for key_id, key in data_keys.items()}
        self._fingerprints["nik_hash_key"] = _fingerprint(nik_hash_key)
        self._nik_hmac = _Hmac(nik_hash_key)
        self._unsealed: dict[str, str] = {}

    @property
    def fingerprints(self) -> dict[str, str]:
        """A short HMAC of each key, safe to store and print: it names a key without
        revealing it."""
        return dict(self._fingerprints)

    def seal(self, plaintext: str) -> str:
        value = plaintext.encode()
        nonce = self._nonce_hmac.digest(value)[:_NONCE_BYTES]
        sealed = self._active_cipher.encrypt(nonce, value, None)
        return self._active_prefix + binascii.b2a_base64(nonce + sealed, newline=False).decode()

    def resealed(self, sealed: str) -> str:
        """A sealed value as ``seal`` under the active key gives it: the value itself when
        the active key sealed it (``seal`` derives the nonce from the value, so sealing
        it again gives the same text), else opened and sealed again, so that a read model
        copies a name from the log without opening it and still moves to a new key.
        Unlike ``unseal`` it does not check the value: copied, it is checked where it is
        opened, and the log's chain covers the text (``ledger audit verify``)."""
        if sealed.startswith(self._active_prefix):
            return sealed
        return self.seal(self.unseal(sealed))

    def unseal(self, sealed: str) -> str:
        known = self._unsealed.get(sealed)
        if known is not None:
            return known
        key_id, body = _parts(sealed)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PersonalDataUnreadable(
                f"personal data is sealed with data key {key_id!r}, which the keyring lacks")
        try:
            raw = binascii.a2b_base64(body, strict_mode=True)
            plaintext = cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None).decode()
        except (binascii.Error, InvalidTag, ValueError):
            raise PersonalDataUnreadable(
                f"a value sealed with data key {key_id!r} does not open: the key is not "
                "the one it was sealed with, or the value was altered") from None
        if len(plaintext) <= _OPENED_MAX_CHARS:
            self._keep_unsealed(sealed, plaintext)
        return plaintext

    def seal_bytes(self, data: bytes, context: bytes) -> bytes:
        """Bytes sealed with the active data key and bound to ``context`` (AES-GCM's
        associated data), for a cache the service keeps beside the log (as-of checkpoints):
        bytes altered, or moved under another context, do not open. The nonce is random:
        the same bytes sealed twice need not seal alike, as a personal-data field must."""
        nonce = os.urandom(_NONCE_BYTES)
        return (self.active.encode() + b":" + nonce
                + self._active_cipher.encrypt(nonce, data, context))

    def open_bytes(self, sealed: bytes, context: bytes) -> bytes:
        """What ``seal_bytes`` sealed under ``context``, with whichever key of the keyring
        sealed it; ``PersonalDataUnreadable`` when the key is missing or the bytes or
        context were altered."""
        key_id, _, body = sealed.partition(b":")
        cipher = self._ciphers.get(key_id.decode(errors="replace"))
        if cipher is None:
            raise PersonalDataUnreadable(
                f"bytes sealed with data key {key_id.decode(errors='replace')!r}, which the "
                "keyring lacks")
        try:
            return cipher.decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], context)
        except (InvalidTag, ValueError):
            raise PersonalDataUnreadable(
                "sealed bytes do not open: the key is not the one they were sealed with, or "
                "the bytes or what they are bound to were altered") from None

    def nik_hash(self, nik: str) -> str:
        return self._nik_hmac.digest(nik.encode()).hex()

    def _keep_unsealed(self, sealed: str, plaintext: str) -> None:
        """Remember what a value opened to: a log repeats the same sealed values (a NIK on
        every monthly imported bill), and a lookup costs far less than base64 and AES-GCM. Only
        values that opened are kept, by their exact text (the tag checked it), so a hit is
        what opening would give. This holds plaintext personal data in the process's
        memory, as the read models it feeds do: bounded by count and by
        ``_OPENED_MAX_CHARS``, emptied when full, and gone with the keyring."""
        if len(self._unsealed) >= _UNSEALED_MAX:
            self._unsealed.clear()
        self._unsealed[sealed] = plaintext


class _Hmac:
    """HMAC-SHA256 under one key, its key set up once: ``hmac.digest`` sets the key up
    again on every message, which cost more than hashing a name or a NIK."""

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod="sha256")

    def digest(self, message: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(message)
        return mac.digest()


def _parts(sealed: str) -> tuple[str, str]:
    """(key id, base64 body) of a sealed value."""
    parts = sealed.split(":", 2)
    if len(parts) != 3 or f"{parts[0]}:" != SEALED_PREFIX:
        raise PersonalDataUnreadable("a personal-data field holds a value that is not sealed")
    return parts[1], parts[2]


def _fingerprint(key: bytes) -> str:
    return hmac.digest(key, _CHECK_MESSAGE, "sha256").hex()[:16]


# Key files


def new_key_file_content() -> dict:
    return {"nik_hash_key": _new_key(), "active": "k1", "data_keys": {"k1": _new_key()}}


def rotated(content: Mapping) -> dict:
    """The key file with a new active data key; the old ones stay to open old values."""
    data_keys = dict(content["data_keys"])
    key_id = f"k{1 + max(int(k[1:]) for k in data_keys if k[1:].isdigit())}"
    data_keys[key_id] = _new_key()
    return {**content, "active": key_id, "data_keys": data_keys}


def keyring_from(content: object, source: str) -> Keyring:
    """A keyring from a key file's parsed JSON; ``source`` names where it came from in
    every refusal."""
    if not isinstance(content, dict):
        raise KeysUnusable(f"{source} must be a JSON object with nik_hash_key, active and "
                           "data_keys")
    data_keys = content.get("data_keys")
    if not isinstance(data_keys, dict) or not data_keys:
        raise KeysUnusable(f"{source} has no data_keys")
    active = content.get("active")
    if not isinstance(active, str):
        raise KeysUnusable(f"{source} does not name its active data key")
    decoded = {key_id: _key_bytes(value, f"{source} data_keys.{key_id}")
               for key_id, value in data_keys.items()}
    return Keyring(decoded, active, _key_bytes(content.get("nik_hash_key"),
                                               f"{source} nik_hash_key"))


def load_keyring(keys_json: str | None, key_file: Path | None, data_dir: Path) -> Keyring:
    """The keyring from ``LEDGER_KEYS``, else ``LEDGER_KEY_FILE``, else the data
    directory's ``keys.json`` (made on first use, readable by its owner only)."""
    if keys_json:
        return keyring_from(_parsed(keys_json, "LEDGER_KEYS"), "LEDGER_KEYS")
    if key_file is not None:
        if not key_file.is_file():
            raise KeysUnusable(f"LEDGER_KEY_FILE {key_file} does not exist")
        return keyring_from(read_key_file(key_file), str(key_file))
    path = key_source(keys_json, key_file, data_dir)
    if not path.exists():
        write_key_file(path, new_key_file_content())
    return keyring_from(read_key_file(path), str(path))


def key_source(keys_json: str | None, key_file: Path | None, data_dir: Path) -> Path | str:
    """Where ``load_keyring`` takes the keys from, fit to print."""
    if keys_json:
        return "LEDGER_KEYS"
    return key_file or data_dir / "keys.json"


def read_key_file(path: Path) -> object:
    """A key file's parsed JSON (``keyring_from`` checks what it holds)."""
    return _parsed(path.read_text(encoding="utf-8"), str(path))


def write_key_file(path: Path, content: Mapping) -> None:
    """Write a key file readable by its owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.new")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(content, out, indent=2)
        out.write("\n")
    staged.replace(path)


def _parsed(text: str, source: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        raise KeysUnusable(f"{source} is not valid JSON") from None


def _key_bytes(value: object, source: str) -> bytes:
    try:
        key = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except binascii.Error:
        key = b""
    if len(key) != KEY_BYTES:
        raise KeysUnusable(f"{source} must be {KEY_BYTES} random bytes in base64")
    return key


def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()



def masked_nik(nik: str) -> str:
    """``7174014503850001`` -> ``717401******0001``: the region (first 6 digits) and the
    serial (last 4) are what a clerk needs to tell two candidates of one village apart.
    Anything that is not a NIK is hidden whole."""
    if len(nik) == 16 and nik.isdigit():
        return f"{nik[:6]}******{nik[-4:]}"
    return "*" * len(nik)
