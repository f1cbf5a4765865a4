"""Any stream's history (a program, participant, KPJ, bill, payment reference or claim): every
event with its type, business date, recorded time and actor, for auditors."""

import uuid
from datetime import date, datetime
from typing import Any

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from api.auth import Caller, ensure_stream_in_scope
from api.privacy import shown_payload
from api.problems import READ_PROBLEMS
from ledger.errors import InvalidInput, StreamNotFound
from ledger.history import business_date
from ledger.store import Recorded
from ledger.system import System


class HistoryEntry(msgspec.Struct, kw_only=True):
    version: int
    type: str
    """The event's type name (docs/events.md)."""
    business_date: date | None
    """The date the event speaks about (paid, died, verified...), when it has one."""
    recorded_at: datetime
    actor_id: str
    actor_role: str
    command_id: str | None
    data: dict[str, Any]
    """The event's fields; NIKs masked, the mother's maiden name hidden."""


def history_entry(recorded: Recorded) -> HistoryEntry:
    data = shown_payload(msgspec.to_builtins(recorded.event))
    meta = recorded.meta
    return HistoryEntry(version=recorded.version, type=recorded.type_name,
                        business_date=business_date(recorded.event),
                        recorded_at=meta.recorded_at, actor_id=meta.actor_id,
                        actor_role=meta.actor_role, command_id=meta.command_id, data=data)


@get("/streams/{stream_id:str}/history", sync_to_thread=True, responses=READ_PROBLEMS,
     summary="Every event of one stream, with business date, recorded time and actor")
def stream_history(stream_id: FromPath[str], system: NamedDependency[System],
                   caller: NamedDependency[Caller]) -> list[HistoryEntry]:
    try:
        stream = uuid.UUID(stream_id)
    except ValueError:
        raise InvalidInput("stream_id must be a UUID", field="stream_id") from None
    recorded = system.store.read(stream)
    if not recorded:
        raise StreamNotFound(f"no stream {stream} in the log", field="stream_id")
    # The first event of a program's, participant's, bill's or claim's stream names its
    # program; the path does not, so the scope is checked here rather than in the guard.
    ensure_stream_in_scope(caller, system, getattr(recorded[0].event, "program_id", None))
    return [history_entry(r) for r in recorded]
