"""Events to stored bytes and back, sealing personal data on the way in.

The stored form is UTF-8 JSON ``{"meta": ..., "data": ...}`` under the event's
type name. Fields that ``events.PERSONAL_FIELDS`` names are stored sealed
(``ledger.personal_data``) and opened again on reading, so the domain and the
projections see plain values while the log, its backups and its exports hold
none; the hash chain covers the sealed bytes, so it verifies without the key.
Types without personal data take msgspec's typed fast path both ways; so does
decoding a type whose personal fields are all plain strings, or that stay sealed: it is
decoded typed with those fields still sealed, then they are opened in place, which
skips building a dict of the whole payload and converting it again (a bill's lines).
A reader may ask for only some personal fields opened (``opened``): the projections
open a candidate's NIK, never the mother's name or address, and AES-GCM per value was a
sixth of a rebuild. Fields it leaves out stay sealed, as their sealed text: a type with a
personal field that is not a string (a birth date) is then read into its sealed view, a
subclass whose such fields are typed as text (``_SEALED_VIEWS``).
A superseded type (``events.SUPERSEDED_TYPES``) is read into its successor's class; the
fields its successor seals but it stored in the clear are sealed on reading when the
reader leaves them sealed, so that a reader sees the same whichever version the log holds.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec

from ledger.events import (
    PERSONAL_FIELDS,
    READABLE_TYPES,
    SUPERSEDED_TYPES,
    Event,
    EventMeta,
    PersonalFields,
)
from ledger.personal_data import Keyring


class _Stored(msgspec.Struct, frozen=True):
    meta: EventMeta
    data: Any


_STORED_TYPES = {
    name: msgspec.defstruct(f"Stored_{cls.__name__}", [("meta", EventMeta), ("data", cls)])
    for name, cls in READABLE_TYPES.items()
}
_encoder = msgspec.json.Encoder()
_decoders = {name: msgspec.json.Decoder(stored) for name, stored in _STORED_TYPES.items()}
_raw_decoder = msgspec.json.Decoder(dict[str, Any])


def _plain_string(cls: type, path: tuple[str, ...]) -> bool:
    """Whether the path ends at a field typed ``str`` (through lists of structs), so that
    its sealed text decodes as the field's own type; a sealed ``date`` does not."""
    node: Any = msgspec.inspect.type_info(cls)
    for key in path:
        if key == "*":
            node = node.item_type if isinstance(node, msgspec.inspect.ListType) else None
        elif isinstance(node, msgspec.inspect.StructType):
            node = next((f.type for f in node.fields if f.name == key), None)
        else:
            node = None
    # Optional fields (a correction's) are typed ``str | None``.
    if isinstance(node, msgspec.inspect.UnionType):
        node = next((t for t in node.types if not isinstance(t, msgspec.inspect.NoneType)),
                    None) if len(node.types) == 2 else None
    return isinstance(node, msgspec.inspect.StrType)


_NOT_STRINGS = {name: tuple(path for path in paths
                            if not _plain_string(READABLE_TYPES[name], path))
                for name, paths in PERSONAL_FIELDS.items()}
"""Per type, its personal fields that are not plain strings (a birth date)."""


def _sealed_view(name: str, paths: tuple[tuple[str, ...], ...]) -> type[Event]:
    """The type's class with the fields of ``paths`` typed as their sealed text: what a
    reader that leaves them sealed gets (``isinstance`` still finds the class)."""
    cls = READABLE_TYPES[name]
    fields = {f.name: f for f in msgspec.inspect.type_info(cls).fields}
    retyped = []
    for path in paths:
        if len(path) > 1:  # none yet: a walk through lists would need a view per struct
            raise TypeError(f"{name}: personal field {'.'.join(path)} is not a string "
                            "at the top of the payload, which a sealed view cannot retype")
        field = fields[path[0]]
        retyped.append((path[0], str) if field.required
                       else (path[0], str | None, field.default))
    return msgspec.defstruct(f"Sealed{cls.__name__}", retyped, bases=(cls,))


_SEALED_VIEWS = {name: _sealed_view(name, paths) for name, paths in _NOT_STRINGS.items()
                 if paths}
_sealed_decoders = {
    name: msgspec.json.Decoder(msgspec.defstruct(
        f"Stored_{view.__name__}", [("meta", EventMeta), ("data", view)]))
    for name, view in _SEALED_VIEWS.items()}
_CURRENT = {name: cls.TYPE for name, cls in SUPERSEDED_TYPES.items()}
_CLEAR_IN_LOG = {name: tuple(path for path in PERSONAL_FIELDS.get(current, ())
                             if path not in PERSONAL_FIELDS.get(name, ()))
                 for name, current in _CURRENT.items()}
"""Per superseded type, the fields its successor seals that it stored in the clear."""


class _Plan(NamedTuple):
    """How to decode a type for a reader that opens ``opened``."""

    opened: PersonalFields
    paths: tuple[tuple[str, ...], ...]
    """Personal fields to open."""
    to_seal: tuple[tuple[str, ...], ...]
    """Fields a superseded type stored in the clear, which the reader leaves sealed."""
    decoder: msgspec.json.Decoder
    converting: bool
    """Whether a field that is not text is opened: decoded as builtins, then converted."""


def _plan(type_name: str, opened: PersonalFields) -> _Plan:
    if type_name not in _decoders:
        raise ValueError(f"unknown event type {type_name!r} in the log")
    paths, to_seal, decoder = PERSONAL_FIELDS.get(type_name, ()), (), _decoders[type_name]
    if opened is not PERSONAL_FIELDS:
        wanted = opened.get(_CURRENT.get(type_name, type_name), ())
        paths = tuple(p for p in paths if p in wanted)
        if not any(p in wanted for p in _NOT_STRINGS.get(type_name, ())):
            decoder = _sealed_decoders.get(type_name, decoder)
        to_seal = tuple(p for p in _CLEAR_IN_LOG.get(type_name, ()) if p not in wanted)
    converting = bool(paths) and decoder is _decoders[type_name] and bool(
        _NOT_STRINGS.get(type_name))
    return _Plan(opened, paths, to_seal, decoder, converting)


class EventCodec:
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._plans: dict[str, _Plan] = {}
        """Per type, the plan for the last reader's ``opened``: one reader reads many
        events, and working the plan out per event was a third of decoding one."""

    def encode(self, event: Event, meta: EventMeta) -> tuple[str, bytes]:
        """Return the stored (type name, bytes) of an event."""
        paths = PERSONAL_FIELDS.get(event.TYPE)
        if paths is None or not any(_holds_value(event, path) for path in paths):
            # Nothing to seal (a generated bill's lines name no NIK): the typed fast path.
            return event.TYPE, _encoder.encode(_Stored(meta, event))
        data = msgspec.to_builtins(event)
        seal = self._keyring.seal
        for path in paths:
            if len(path) > 1:
                _replace(data, path, seal)
            elif value := data.get(path[0]):  # the common case, without the walk
                data[path[0]] = seal(value)
        return event.TYPE, _encoder.encode(_Stored(meta, data))

    def decode(self, type_name: str, state: bytes, opened: PersonalFields = PERSONAL_FIELDS
               ) -> tuple[Event, EventMeta]:
        """The event with its personal fields opened: all of them, or those of ``opened``."""
        plan = self._plans.get(type_name)
        if plan is None or plan.opened is not opened:
            plan = self._plans[type_name] = _plan(type_name, opened)
        if plan.converting:
            return self._decode_converting(type_name, state, plan.paths, plan.to_seal)
        # Typed: what stays sealed, or is sealed text opened in place, decodes as text.
        stored = plan.decoder.decode(state)
        for path in plan.paths:
            _open_in_place(stored.data, path, self._keyring.unseal)
        for path in plan.to_seal:  # what a superseded type left in the clear
            _open_in_place(stored.data, path, self._keyring.seal)
        return stored.data, stored.meta

    def _decode_converting(self, type_name: str, state: bytes, paths: tuple[tuple[str, ...], ...],
                           to_seal: tuple[tuple[str, ...], ...]) -> tuple[Event, EventMeta]:
        """A type with a personal field that is not a string, opened: as builtins first,
        its sealed text opened there, then converted to the type."""
        raw = _raw_decoder.decode(state)
        data, unseal = raw["data"], self._keyring.unseal
        for path in paths:
            if len(path) > 1:
                _replace(data, path, unseal)
            elif value := data.get(path[0]):
                data[path[0]] = unseal(value)
        for path in to_seal:
            _replace(data, path, self._keyring.seal)
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


def _holds_value(node: Any, path: tuple[str, ...]) -> bool:
    """Whether a struct holds a non-empty value at ``path`` (the walk of ``_replace``)."""
    key, rest = path[0], path[1:]
    if key == "*":
        return any(_holds_value(item, rest) for item in node)
    child = getattr(node, key)
    if rest:
        return child is not None and _holds_value(child, rest)
    return bool(child)


def _open_in_place(node: Any, path: tuple[str, ...], unseal: Callable[[str], str]) -> None:
    """``_replace`` on a struct just decoded: the same walk over attributes, setting the
    opened value on the frozen struct, which no one else holds yet."""
    key, rest = path[0], path[1:]
    if key == "*":
        for item in node:
            _open_in_place(item, rest, unseal)
    elif rest:
        if (child := getattr(node, key)) is not None:
            _open_in_place(child, rest, unseal)
    elif value := getattr(node, key):
        msgspec.structs.force_setattr(node, key, unseal(value))
