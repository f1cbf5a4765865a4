"""Events to stored bytes and back, sealing personal data on the way in.

The stored form is UTF-8 JSON ``{"meta": ..., "data": ...}`` under the event's
type name. Fields that ``events.PERSONAL_FIELDS`` names are stored sealed
(``ledger.personal_data``) and opened again on reading, so the domain and the
projections see plain values while the log, its backups and its exports hold
none; the hash chain covers the sealed bytes, so it verifies without the key.
Types without personal data take msgspec's typed fast path both ways.
"""

from collections.abc import Callable
from typing import Any

import msgspec

from ledger.events import EVENT_TYPES, PERSONAL_FIELDS, Event, EventMeta
from ledger.personal_data import Keyring


class _Stored(msgspec.Struct, frozen=True):
    meta: EventMeta
    data: Any


_STORED_TYPES = {
    name: msgspec.defstruct(f"Stored_{cls.__name__}", [("meta", EventMeta), ("data", cls)])
    for name, cls in EVENT_TYPES.items()
}
_encoder = msgspec.json.Encoder()
_decoders = {name: msgspec.json.Decoder(stored) for name, stored in _STORED_TYPES.items()}
_raw_decoder = msgspec.json.Decoder(dict[str, Any])


class EventCodec:
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def encode(self, event: Event, meta: EventMeta) -> tuple[str, bytes]:
        """Return the stored (type name, bytes) of an event."""
        paths = PERSONAL_FIELDS.get(event.TYPE)
        if paths is None:
            return event.TYPE, _encoder.encode(_Stored(meta, event))
        data = msgspec.to_builtins(event)
        seal = self._keyring.seal
        for path in paths:
            if len(path) > 1:
                _replace(data, path, seal)
            elif value := data.get(path[0]):  # the common case, without the walk
                data[path[0]] = seal(value)
        return event.TYPE, _encoder.encode(_Stored(meta, data))

    def decode(self, type_name: str, state: bytes) -> tuple[Event, EventMeta]:
        if type_name not in _decoders:
            raise ValueError(f"unknown event type {type_name!r} in the log")
        paths = PERSONAL_FIELDS.get(type_name)
        if paths is None:
            stored = _decoders[type_name].decode(state)
            return stored.data, stored.meta
        raw = _raw_decoder.decode(state)
        data, unseal = raw["data"], self._keyring.unseal
        for path in paths:
            if len(path) > 1:
                _replace(data, path, unseal)
            elif value := data.get(path[0]):
                data[path[0]] = unseal(value)
        stored = msgspec.convert(raw, _STORED_TYPES[type_name])
        return stored.data, stored.meta


def _replace(node: Any, path: tuple[str, ...], change: Callable[[str], str]) -> None:
    """Apply ``change`` to the strings at ``path``; absent, null and empty values stay
    as they are (an optional correction field left out, a bill line without a NIK)."""
    key, rest = path[0], path[1:]
    if key == "*":
        for item in node:
            _replace(item, rest, change)
    elif rest:
        if node.get(key) is not None:
            _replace(node[key], rest, change)
    elif node.get(key):
        node[key] = change(node[key])
