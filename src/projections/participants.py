"""Participant status: where every candidate stands now, why, and the counts per cohort.

Owns ``participant_status`` (one row per person), ``participant_reasons`` (why
a candidate is not matched, one row per reason, for the backlog) and
``program_cohort_status`` (how many participants of each program cohort stand
in each status). Personal data stays sealed here as in the log, copied as the log
holds it (``Keyring.resealed``): the NIK sealed (billing needs it whole), beside its
keyed hash (lookups, cross-program joins) and masked form (display); name and birth
date sealed. A batch loads the rows it touches once (those of streams new in the batch
cannot exist yet), evolves them in memory and writes them back in a few statements, which is what
lets an import of tens of thousands of rows keep up with the log.
"""

from collections import Counter
from collections.abc import Sequence
from uuid import UUID

from ledger.events import (
    CandidateCorrected,
    CandidateSubmitted,
    Event,
    ParticipantEnrolled,
    ParticipantLapsed,
    ParticipantTerminated,
    PersonalFields,
    VerificationRecorded,
)
from ledger.personal_data import Keyring, masked_nik
from ledger.storage import Tx
from ledger.store import Recorded
from projections.sql import chunks

COLUMNS = (
    "participant_id", "program_id", "nik_hash", "nik_masked", "nik_sealed", "full_name_sealed",
    "birth_date_sealed", "sex", "village", "submitted_by", "occupation", "cohort", "status",
    "name_score", "kpj", "coverage_start", "enrollment_batch", "termination_reason",
    "terminated_on", "submissions", "version", "updated_position",
)
STATUSES = ("awaiting_verification", "matched", "mismatched", "enrolled", "lapsed",
            "terminated")
_EMPTY_ROW = dict.fromkeys(COLUMNS)
_CORRECTABLE = ("sex", "village", "occupation", "cohort")
_PARTICIPANT_EVENTS = (CandidateSubmitted, CandidateCorrected, VerificationRecorded,
                       ParticipantEnrolled, ParticipantLapsed, ParticipantTerminated)
# Events after which the reasons are the event's own (none, for all but a verification).
_REASON_EVENTS = (VerificationRecorded, CandidateSubmitted, CandidateCorrected,
                  ParticipantEnrolled)


class ParticipantsProjection:
    name = "participants"
    tables = ("participant_status", "participant_reasons", "program_cohort_status")
    indexed_for_readers: tuple[str, ...] = ("participant_status", "participant_reasons")
    personal_fields: PersonalFields = {}
    sealed_fields: PersonalFields = {
        CandidateSubmitted.TYPE: (("birth_date",), ("full_name",), ("nik",)),
        CandidateCorrected.TYPE: (("birth_date",), ("full_name",)),
    }
    """Copied as the log's sealed text: opening a name and a birth date (to seal them
    again) cost a candidate's decoding half its time. The NIK is opened here, for its
    hash and mask."""
    event_types = _PARTICIPANT_EVENTS
    by_stream = True  # a participant's rows fold its stream alone; the counts add up
    summed_tables = ("program_cohort_status",)
    reads_from: tuple[str, ...] = ()
    bulk_types: tuple[type[Event], ...] = ()

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def apply(self, tx: Tx, batch: Sequence[Recorded]) -> None:
        relevant = [r for r in batch if isinstance(r.event, _PARTICIPANT_EVENTS)]
        if not relevant:
            return
        ids, new = _stream_ids(relevant)
        rows = _load(tx, [pid for pid in ids.values() if pid not in new])
        before = {pid: (row["program_id"], row["cohort"], row["status"])
                  for pid, row in rows.items()}
        reasons: dict[str, list[tuple[str, str]]] = {}
        for recorded in relevant:
            pid = ids[recorded.stream_id]
            rows[pid] = _evolve(rows.get(pid), pid, recorded, self._keyring)
            if isinstance(recorded.event, _REASON_EVENTS):
                reasons[pid] = [(r.code, r.detail) for r in getattr(recorded.event, "reasons", [])]
        tx.insert_many("participant_status", COLUMNS,
                       [rows[pid] for pid in ids.values() if pid in new])
        tx.upsert_many("participant_status", COLUMNS, ("participant_id",),
                       [rows[pid] for pid in ids.values() if pid not in new])
        _write_reasons(tx, rows, reasons, new)
        _write_counts(tx, before, rows)


def _stream_ids(relevant: Sequence[Recorded]) -> tuple[dict[UUID, str], set[str]]:
    """Each stream's id as text (str() of a UUID is slow Python: once per batch), and the
    streams whose first event is in this batch. Those have no rows yet: nothing to load,
    to delete or to conflict with, which in an import is nearly every stream."""
    ids: dict[UUID, str] = {}
    new: set[str] = set()
    for recorded in relevant:
        if recorded.stream_id not in ids:
            ids[recorded.stream_id] = pid = str(recorded.stream_id)
            if recorded.version == 1:
                new.add(pid)
    return ids, new


def _load(tx: Tx, ids: list[str]) -> dict[str, dict]:
    rows = {}
    for chunk in chunks(ids):
        condition, params = tx.any_of("participant_id", chunk)
        for row in tx.fetchall(f"SELECT {', '.join(COLUMNS)} FROM participant_status "
                               f"WHERE {condition}", params):
            rows[row["participant_id"]] = row
    return rows


def _evolve(row: dict | None, pid: str, recorded: Recorded, keyring: Keyring) -> dict:
    """The row after ``recorded``: a submission's a new dict (keeping what enrollment set),
    the others' changed in place (rows are this batch's own copies). Items are set one by
    one rather than by ``update(**...)``: a rebuild evolves a row per event."""
    event = recorded.event
    if isinstance(event, CandidateSubmitted):
        nik = keyring.unseal(event.nik)
        row = {**(row or _EMPTY_ROW), "participant_id": pid, "program_id": event.program_id,
               "nik_hash": keyring.nik_hash(nik), "nik_masked": masked_nik(nik),
               "nik_sealed": keyring.resealed(event.nik),
               "full_name_sealed": keyring.resealed(event.full_name),
               "birth_date_sealed": keyring.resealed(event.birth_date),
               "sex": event.sex, "village": event.village, "submitted_by": event.submitted_by,
               "occupation": event.occupation, "cohort": event.cohort,
               "status": "awaiting_verification", "name_score": None,
               "submissions": row["submissions"] + 1 if row else 1}
    elif isinstance(event, CandidateCorrected):
        for field in _CORRECTABLE:
            if (value := getattr(event, field)) is not None:
                row[field] = value
        if event.full_name is not None:
            row["full_name_sealed"] = keyring.resealed(event.full_name)
        if event.birth_date is not None:
            row["birth_date_sealed"] = keyring.resealed(event.birth_date)
        row["status"], row["name_score"] = "awaiting_verification", None
    elif isinstance(event, VerificationRecorded):
        row["status"], row["name_score"] = event.outcome, event.name_score
    elif isinstance(event, ParticipantEnrolled):
        row["status"], row["kpj"], row["enrollment_batch"] = "enrolled", event.kpj, event.batch
        row["coverage_start"] = event.coverage_start.isoformat()
    elif isinstance(event, ParticipantLapsed):
        row["status"] = "lapsed"
    elif isinstance(event, ParticipantTerminated):
        row["status"], row["termination_reason"] = "terminated", event.reason
        row["terminated_on"] = event.effective_date.isoformat()
    row["version"], row["updated_position"] = recorded.version, recorded.position
    return row


def _write_reasons(tx: Tx, rows: dict[str, dict], reasons: dict[str, list[tuple[str, str]]],
                   new: set[str]) -> None:
    changed = list(reasons)
    for chunk in chunks([pid for pid in changed if pid not in new]):
        condition, params = tx.any_of("participant_id", chunk)
        tx.execute(f"DELETE FROM participant_reasons WHERE {condition}", params)
    tx.insert_many(
        "participant_reasons", ("participant_id", "program_id", "village", "reason", "detail"),
        [{"participant_id": pid, "program_id": rows[pid]["program_id"],
          "village": rows[pid]["village"], "reason": code, "detail": detail}
         for pid in changed for code, detail in dict(reasons[pid]).items()],
    )


def _write_counts(tx: Tx, before: dict[str, tuple], rows: dict[str, dict]) -> None:
    """Add the batch's moves to its cohorts' counts: one upsert per cohort, in key order,
    so that a rebuild's lanes (each a part of the participants, counting into the same
    rows) take the rows' locks in the same order and never wait for each other in turn."""
    deltas: Counter[tuple[str, str, str]] = Counter()
    for pid, row in rows.items():
        after = (row["program_id"], row["cohort"], row["status"])
        if before.get(pid) != after:
            deltas[after] += 1
            if pid in before:
                deltas[before[pid]] -= 1
    cohorts: dict[tuple[str, str], dict] = {}
    for (program_id, cohort, status), delta in deltas.items():
        counts = cohorts.setdefault((program_id, cohort), {
            "program_id": program_id, "cohort": cohort, **dict.fromkeys(STATUSES, 0)})
        counts[status] += delta
    tx.executemany(
        f"INSERT INTO program_cohort_status (program_id, cohort, {', '.join(STATUSES)}) "
        f"VALUES (:program_id, :cohort, {', '.join(f':{s}' for s in STATUSES)}) "
        "ON CONFLICT (program_id, cohort) DO UPDATE SET "
        + ", ".join(f"{s} = program_cohort_status.{s} + excluded.{s}" for s in STATUSES),
        [counts for _, counts in sorted(cohorts.items())])
