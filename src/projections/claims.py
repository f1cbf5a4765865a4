"""Claims: every claim's timeline, documents, service-level clock, payouts and penalty.

Owns ``claim_summary`` (one row per claim, holding the claim as ``ledger.claim``
folds it, so documents still missing, the due day and the late penalty come
from the code that decides them) and ``claim_stages`` (one row per event: the
stage, its business date, when it was recorded and by whom). The personal data a
claim holds (the names of its reporter, heirs and payees; its circumstances, the
heirs' evidence, a rejection's detail, a payout's override reason) stays sealed in the
stored claim, as in the log: ``opened_state`` opens it for showing. A stage's detail
names no document reference nor evidence, which only the claim itself shows.
"""

from collections.abc import Sequence

import msgspec

from ledger import claim
from ledger.claim import Claim
from ledger.events import (
    ClaimApproved,
    ClaimAssessed,
    ClaimClosed,
    ClaimRejected,
    ClaimReopened,
    ClaimReported,
    DocumentReceived,
    Event,
    HeirRecorded,
    PayoutRecorded,
    PersonalFields,
)
from ledger.history import business_date
from ledger.personal_data import Keyring
from ledger.storage import Tx
from ledger.store import Recorded
from projections.sql import chunks

SUMMARY_COLUMNS = (
    "program_id", "claim_id", "stream_id", "participant_id", "benefit", "fatal", "status",
    "incident_date", "reported_on", "documents_missing", "documents_complete_on", "due_on",
    "eligible", "failed_rule", "failed_month", "rejection_code", "approved_idr", "paid_idr",
    "penalty_due_idr", "penalty_paid_idr", "last_paid_on", "state",
)
STAGE_COLUMNS = ("stream_id", "version", "program_id", "claim_id", "stage", "business_date",
                 "recorded_at", "actor_id", "actor_role", "detail")
_EVENTS = (ClaimReported, DocumentReceived, HeirRecorded, ClaimAssessed, ClaimApproved,
           ClaimRejected, PayoutRecorded, ClaimClosed, ClaimReopened)
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Claim)


class ClaimsProjection:
    name = "claims"
    tables = ("claim_summary", "claim_stages")
    indexed_for_readers: tuple[str, ...] = ("claim_summary", "claim_stages")
    personal_fields: PersonalFields = {}
    sealed_fields: PersonalFields = {}
    event_types = _EVENTS
    summed_tables: tuple[str, ...] = ()
    by_stream = False  # few events: not worth a lane per part
    reads_from: tuple[str, ...] = ()
    bulk_types: tuple[type[Event], ...] = ()

    def apply(self, tx: Tx, batch: Sequence[Recorded]) -> None:
        relevant = [r for r in batch if isinstance(r.event, _EVENTS)]
        if not relevant:
            return
        states = _load(tx, list(dict.fromkeys(str(r.stream_id) for r in relevant)))
        stages = []
        for recorded in relevant:
            stream = str(recorded.stream_id)
            state = claim.evolve(states.get(stream), recorded.event)
            states[stream] = state
            stages.append(_stage(recorded, state))
        tx.insert_many("claim_stages", STAGE_COLUMNS, stages)
        tx.upsert_many("claim_summary", SUMMARY_COLUMNS, ("program_id", "claim_id"),
                       [_summary(stream, state) for stream, state in states.items()])


def decode_state(row: dict) -> Claim:
    """The claim a row holds, its names still sealed."""
    return _decoder.decode(row["state"])


def opened_state(row: dict, keyring: Keyring) -> Claim:
    """The claim a row holds, its personal data opened (``events.PERSONAL_FIELDS``)."""
    state, unseal = decode_state(row), keyring.unseal
    replace = msgspec.structs.replace
    reported, rejected = state.reported, state.rejected
    return replace(
        state,
        reported=replace(reported, reporter_name=unseal(reported.reporter_name),
                         circumstances=unseal(reported.circumstances)),
        heirs=[replace(heir, name=unseal(heir.name), evidence=unseal(heir.evidence))
               for heir in state.heirs],
        rejected=rejected and replace(rejected, detail=unseal(rejected.detail)),
        payouts=[replace(payout, payee_name=unseal(payout.payee_name),
                         override_reason=payout.override_reason
                         and unseal(payout.override_reason))
                 for payout in state.payouts])


def _load(tx: Tx, streams: list[str]) -> dict[str, Claim]:
    states = {}
    for chunk in chunks(streams):
        condition, params = tx.any_of("stream_id", chunk)
        for row in tx.fetchall(f"SELECT stream_id, state FROM claim_summary WHERE {condition}",
                               params):
            states[row["stream_id"]] = decode_state(row)
    return states


def _summary(stream: str, state: Claim) -> dict:
    reported, assessment = state.reported, state.assessment
    complete, due = state.documents_complete_on, state.due_on
    paid_on = [p.paid_on for p in state.payouts if p.component != claim.LATE_PENALTY]
    return {
        "program_id": reported.program_id, "claim_id": reported.claim_id, "stream_id": stream,
        "participant_id": reported.participant_id, "benefit": reported.benefit,
        "fatal": int(reported.fatal), "status": state.status,
        "incident_date": reported.incident_date.isoformat(),
        "reported_on": reported.reported_on.isoformat(),
        "documents_missing": " ".join(state.missing_documents),
        "documents_complete_on": complete.isoformat() if complete else None,
        "due_on": due.isoformat() if due else None,
        "eligible": None if assessment is None else int(assessment.eligible),
        "failed_rule": assessment.failed_rule if assessment else None,
        "failed_month": assessment.failed_month if assessment else None,
        "rejection_code": state.rejected.reason_code if state.rejected else None,
        "approved_idr": state.approved.amount_idr if state.approved else 0,
        "paid_idr": state.benefit_paid_idr, "penalty_due_idr": state.penalty_due_idr(),
        "penalty_paid_idr": state.paid_idr(claim.LATE_PENALTY),
        "last_paid_on": max(paid_on).isoformat() if paid_on else None,
        "state": _encoder.encode(state).decode(),
    }


def _stage(recorded: Recorded, state: Claim) -> dict:
    return {"stream_id": str(recorded.stream_id), "version": recorded.version,
            "program_id": state.reported.program_id, "claim_id": state.reported.claim_id,
            "stage": recorded.event.TYPE.split(".")[1],
            "business_date": business_date(recorded.event).isoformat(),
            "recorded_at": recorded.meta.recorded_at.isoformat(),
            "actor_id": recorded.meta.actor_id, "actor_role": recorded.meta.actor_role,
            "detail": _describe(recorded.event)}


def _describe(event: Event) -> str:
    """The stage in a line an auditor reads."""
    match event:
        case ClaimReported():
            return (f"{event.benefit} {'death' if event.fatal else 'accident'} on "
                    f"{event.incident_date}, reported by {event.reporter_relation}")
        case DocumentReceived():
            return f"{event.document} received"
        case HeirRecorded():
            return f"heir: {event.relation}"
        case ClaimAssessed():
            verdict = "eligible" if event.eligible else f"ineligible: {event.failed_rule}"
            total = sum(line.amount_idr for line in event.lines)
            return f"{verdict}; benefit Rp{total:,} ({event.benefit_rule_version})"
        case ClaimApproved():
            return f"approved Rp{event.amount_idr:,}"
        case ClaimRejected():
            return f"rejected: {event.reason_code}"
        case PayoutRecorded():
            return (f"paid Rp{event.amount_idr:,} {event.component} to {event.relation} "
                    f"({event.payout_ref})")
        case ClaimClosed():
            return event.note
        case ClaimReopened():
            return f"reopened: {event.reason}"
    raise ValueError(f"{event.TYPE} is not a claim event")
