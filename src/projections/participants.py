"""Participant status: where every candidate stands now, why, and the counts per cohort.

Owns ``participant_status`` (one row per person), ``participant_reasons`` (why
a candidate is not matched, one row per reason, for the backlog) and
``program_cohort_status`` (how many participants of each program cohort stand
in each status). A batch loads the rows it touches once, evolves them in
memory and writes them back in a few statements, which is what lets an import
of tens of thousands of rows keep up with the log.
"""

from collections import Counter
from collections.abc import Sequence

from ledger.events import (
    CandidateCorrected,
    CandidateSubmitted,
    ParticipantEnrolled,
    ParticipantTerminated,
    VerificationRecorded,
)
from ledger.storage import Tx
from ledger.store import Recorded
from projections.sql import chunks

COLUMNS = (
    "participant_id", "program_id", "nik", "full_name", "birth_date", "sex", "village",
    "submitted_by", "occupation", "cohort", "status", "name_score", "kpj", "coverage_start",
    "enrollment_batch", "termination_reason", "terminated_on", "submissions", "version",
    "updated_position",
)
STATUSES = ("awaiting_verification", "matched", "mismatched", "enrolled", "terminated")
_CORRECTABLE = ("full_name", "birth_date", "sex", "village", "occupation", "cohort")
_PARTICIPANT_EVENTS = (CandidateSubmitted, CandidateCorrected, VerificationRecorded,
                       ParticipantEnrolled, ParticipantTerminated)


class ParticipantsProjection:
    name = "participants"
    tables = ("participant_status", "participant_reasons", "program_cohort_status")

    def apply(self, tx: Tx, batch: Sequence[Recorded]) -> None:
        relevant = [r for r in batch if isinstance(r.event, _PARTICIPANT_EVENTS)]
        if not relevant:
            return
        ids = list(dict.fromkeys(str(r.stream_id) for r in relevant))
        rows = _load(tx, ids)
        before = {pid: (row["program_id"], row["cohort"], row["status"])
                  for pid, row in rows.items()}
        reasons: dict[str, list[tuple[str, str]]] = {}
        for recorded in relevant:
            pid = str(recorded.stream_id)
            rows[pid] = _evolve(rows.get(pid), recorded)
            if isinstance(recorded.event, VerificationRecorded | CandidateSubmitted
                          | CandidateCorrected | ParticipantEnrolled):
                reasons[pid] = [(r.code, r.detail) for r in getattr(recorded.event, "reasons", [])]
        tx.upsert_many("participant_status", COLUMNS, ("participant_id",),
                       [rows[pid] for pid in ids])
        _write_reasons(tx, rows, reasons)
        _write_counts(tx, before, rows)


def _load(tx: Tx, ids: list[str]) -> dict[str, dict]:
    rows = {}
    for chunk in chunks(ids):
        condition, params = tx.any_of("participant_id", chunk)
        for row in tx.fetchall(f"SELECT {', '.join(COLUMNS)} FROM participant_status "
                               f"WHERE {condition}", params):
            rows[row["participant_id"]] = row
    return rows


def _evolve(row: dict | None, recorded: Recorded) -> dict:
    event = recorded.event
    if isinstance(event, CandidateSubmitted):
        submissions = row["submissions"] + 1 if row else 1
        row = {**(row or dict.fromkeys(COLUMNS)),
               "participant_id": str(recorded.stream_id), "program_id": event.program_id,
               "nik": event.nik, "full_name": event.full_name,
               "birth_date": event.birth_date.isoformat(), "sex": event.sex,
               "village": event.village, "submitted_by": event.submitted_by,
               "occupation": event.occupation, "cohort": event.cohort,
               "status": "awaiting_verification", "name_score": None,
               "submissions": submissions}
    elif isinstance(event, CandidateCorrected):
        changes = {f: getattr(event, f) for f in _CORRECTABLE if getattr(event, f) is not None}
        if "birth_date" in changes:
            changes["birth_date"] = changes["birth_date"].isoformat()
        row = {**row, **changes, "status": "awaiting_verification", "name_score": None}
    elif isinstance(event, VerificationRecorded):
        row = {**row, "status": event.outcome, "name_score": event.name_score}
    elif isinstance(event, ParticipantEnrolled):
        row = {**row, "status": "enrolled", "kpj": event.kpj,
               "coverage_start": event.coverage_start.isoformat(),
               "enrollment_batch": event.batch}
    elif isinstance(event, ParticipantTerminated):
        row = {**row, "status": "terminated", "termination_reason": event.reason,
               "terminated_on": event.effective_date.isoformat()}
    return {**row, "version": recorded.version, "updated_position": recorded.position}


def _write_reasons(tx: Tx, rows: dict[str, dict], reasons: dict[str, list[tuple[str, str]]]
                   ) -> None:
    changed = list(reasons)
    for chunk in chunks(changed):
        condition, params = tx.any_of("participant_id", chunk)
        tx.execute(f"DELETE FROM participant_reasons WHERE {condition}", params)
    tx.insert_many(
        "participant_reasons", ("participant_id", "program_id", "village", "reason", "detail"),
        [{"participant_id": pid, "program_id": rows[pid]["program_id"],
          "village": rows[pid]["village"], "reason": code, "detail": detail}
         for pid in changed for code, detail in dict(reasons[pid]).items()],
    )


def _write_counts(tx: Tx, before: dict[str, tuple], rows: dict[str, dict]) -> None:
    deltas: Counter[tuple[str, str, str]] = Counter()
    for pid, row in rows.items():
        after = (row["program_id"], row["cohort"], row["status"])
        if before.get(pid) != after:
            deltas[after] += 1
            if pid in before:
                deltas[before[pid]] -= 1
    cohorts = {(program_id, cohort) for program_id, cohort, _ in deltas}
    tx.executemany(
        "INSERT INTO program_cohort_status (program_id, cohort) VALUES (:program_id, :cohort) "
        "ON CONFLICT (program_id, cohort) DO NOTHING",
        [{"program_id": p, "cohort": c} for p, c in sorted(cohorts)],
    )
    for status in STATUSES:
        tx.executemany(
            f"UPDATE program_cohort_status SET {status} = {status} + :delta "
            "WHERE program_id = :program_id AND cohort = :cohort",
            [{"delta": delta, "program_id": p, "cohort": c}
             for (p, c, s), delta in sorted(deltas.items()) if s == status and delta],
        )

