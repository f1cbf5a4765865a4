"""``ledger audit``: prove the log whole, take a digest to keep, export it for auditors.

    ledger audit verify [--digest FILE]     exit 1 naming the first position that fails
    ledger audit digest [--output FILE]     position, head hash and time, as JSON
    ledger audit export [--program ID] [--output FILE]   JSON Lines, streamed
    ledger audit history STREAM_ID          every event of one stream: type, dates, actor
    ledger audit participant --program ID PARTICIPANT_ID (--position N | --at TIME)
    ledger audit claim --program ID CLAIM_ID (--position N | --at TIME)
                                            as they stood then, replayed from the log

The exported file is checked anywhere with ``python chain.py EXPORT [--digest FILE]``
(``src/ledger/chain.py``, standard library only); docs/audit.md has the algorithm.
"""

import argparse
import json
import sys
from contextlib import nullcontext
from pathlib import Path
from uuid import UUID

from api.privacy import mask_text, participant_view
from ledger import audit, demo
from ledger.cli_common import where
from ledger.errors import (
    ClaimNotFound,
    InvalidInput,
    LogTampered,
    ParticipantNotFound,
    ProgramNotFound,
    StreamNotFound,
)
from ledger.history import business_date
from ledger.settings import Settings
from ledger.store import Recorded
from ledger.system import open_system
from projections import as_of, report_files, views


def audit_verify(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    with open_system(settings) as system:
        if args.digest:
            kept = _read_digest(args.digest)
            verdict = audit.verify_digest(system.storage.db, kept)
        else:
            verdict = audit.verify(system.storage.db)
    if not verdict.ok:
        raise LogTampered(f"position {verdict.failed_position}: {verdict.reason} "
                          f"({verdict.events:,} events before it verify)", field="position")
    scope = f"up to the digest's position {kept['position']:,}" if args.digest else "the log"
    print(f"OK: {verdict.events:,} events verified ({scope}); head hash {verdict.head_hash}")


def audit_digest(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    with open_system(settings) as system:
        try:
            kept = audit.digest(system.storage.db)
        except ValueError as error:
            raise LogTampered(str(error), field="position") from None
    text = json.dumps(kept, indent=2)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
        print(f"digest written to {args.output}", file=sys.stderr)
    print(text)


def audit_export(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    with open_system(settings) as system:
        streams = None
        if args.program:
            system.projections.catch_up()
            streams = views.program_streams(system.storage.db, args.program)
            if not streams:
                raise ProgramNotFound(f"no program {args.program!r}", field="program")
        target = args.output.open("w", encoding="utf-8") if args.output else nullcontext(
            sys.stdout)
        with target as out:
            count = audit.export(system.storage.db, out, streams=streams)
    print(f"exported {count:,} events" + (f" to {args.output}" if args.output else ""),
          file=sys.stderr)


def audit_history(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    with open_system(settings) as system:
        recorded = system.store.read(args.stream)
    if not recorded:
        raise StreamNotFound(f"no stream {args.stream} in the log", field="stream_id")
    print(_history_table(recorded))


def audit_participant(settings: Settings, args: argparse.Namespace) -> None:
    """One participant's read-model row, reasons and history as they stood then; the NIK
    masked as the HTTP API masks it."""
    where(settings)
    with open_system(settings) as system:
        system.ledger.program(args.program)  # a program the ledger never held is named so
        point = as_of.log_point(system.store, args.position, args.at)
        row = as_of.participant_as_of(system, args.program, str(args.participant),
                                      point.position)
        if row is None:
            raise ParticipantNotFound(f"no participant {args.participant} in program "
                                      f"{args.program} in the log up to position "
                                      f"{point.position:,}", field="participant_id")
        history = [r for r in system.ledger.history(args.program, args.participant)
                   if r.version <= row["version"]]
        shown = participant_view(row, system.keyring)
    print(f"Participant {args.participant} of {args.program} at log position "
          f"{point.position:,}: {shown['status']}")
    print(demo.table(("item", "value"), [(name, "" if value is None else str(value))
                                         for name, value in shown.items() if name != "reasons"]))
    print("\nreasons: " + ("; ".join(f"{r['reason']}: {r['detail']}" for r in shown["reasons"])
                           or "none"))
    print("\nHistory\n" + _history_table(history))


def audit_claim(settings: Settings, args: argparse.Namespace) -> None:
    """One claim's service level and stages as they stood then, as ``ledger claim show``
    lays them out; NIKs typed into free text masked."""
    where(settings)
    with open_system(settings) as system:
        system.ledger.program(args.program)
        point = as_of.log_point(system.store, args.position, args.at)
        found = as_of.claim_as_of(system, args.program, args.claim, point)
    if found is None:
        raise ClaimNotFound(f"no claim {args.claim!r} in program {args.program} in the log up "
                            f"to position {point.position:,}", field="claim_id")
    report = report_files.TimelineReport(program_id=args.program, as_of=point.day,
                                         position=point.position, timeline=found[1])
    print(mask_text(report_files.text(report_files.timeline_title(report),
                                      report_files.timeline_sections(report))))


def _history_table(recorded: list[Recorded]) -> str:
    return demo.table(("version", "type", "business_date", "recorded_at", "actor", "role"), [
        (r.version, r.type_name, str(business_date(r.event) or ""),
         r.meta.recorded_at.isoformat(timespec="seconds"), r.meta.actor_id, r.meta.actor_role)
        for r in recorded])


def add_parsers(commands: argparse._SubParsersAction) -> None:
    audit_commands = commands.add_parser(
        "audit", help="verify the hash chain, take a digest, export the log").add_subparsers(
        required=True)
    verify = audit_commands.add_parser("verify", help="recompute the whole hash chain")
    verify.add_argument("--digest", type=Path, metavar="FILE",
                        help="also prove the log still holds this digest's prefix unchanged")
    verify.set_defaults(command=audit_verify)
    digest = audit_commands.add_parser("digest", help="position and head hash to keep outside")
    digest.add_argument("--output", type=Path, metavar="FILE")
    digest.set_defaults(command=audit_digest)
    export = audit_commands.add_parser("export", help="the log as JSON Lines, with hashes")
    export.add_argument("--program", metavar="ID", help="only this program's streams")
    export.add_argument("--output", type=Path, metavar="FILE")
    export.set_defaults(command=audit_export)
    history = audit_commands.add_parser("history", help="every event of one stream")
    history.add_argument("stream", type=UUID, metavar="STREAM_ID")
    history.set_defaults(command=audit_history)
    participant = audit_commands.add_parser(
        "participant", help="one participant as they stood at a log position or recorded time")
    participant.add_argument("participant", type=UUID, metavar="PARTICIPANT_ID")
    _add_point_options(participant)
    participant.set_defaults(command=audit_participant)
    claim = audit_commands.add_parser(
        "claim", help="one claim's timeline as it stood at a log position or recorded time")
    claim.add_argument("claim", metavar="CLAIM_ID")
    _add_point_options(claim)
    claim.set_defaults(command=audit_claim)


def _add_point_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--program", required=True, metavar="ID")
    when = sub.add_mutually_exclusive_group(required=True)
    when.add_argument("--position", type=int, metavar="N", help="after the log's first N events")
    when.add_argument("--at", metavar="TIME",
                      help=f"the last event recorded at or before it, e.g. {as_of.TIME_EXAMPLE}")


def _read_digest(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as file:
            return audit.read_digest(file)
    except (OSError, ValueError) as error:
        raise InvalidInput(f"cannot read the digest {path}: {error}", field="digest") from None
