"""Programs: each agreement's identity, quota per cohort and budget per funding source.

Owns ``program_summary``, ``program_budget`` and ``program_cohort_quota``.
Quota and budget revisions replace the figures in full, as the events do.
"""

from collections.abc import Sequence

from ledger.events import (
    Event,
    PersonalFields,
    ProgramBudgetRevised,
    ProgramOpened,
    ProgramQuotaRevised,
)
from ledger.storage import Tx, upsert_sql
from ledger.store import Recorded

SUMMARY_COLUMNS = (
    "program_id", "stream_id", "region_code", "region_name", "fiscal_year", "agreement_ref",
    "quota_total", "budget_total_idr", "coverage_start", "coverage_end", "enrollment_age_cap",
    "opened_at", "revised_at",
)


class ProgramsProjection:
    name = "programs"
    tables = ("program_summary", "program_budget", "program_cohort_quota")
    indexed_for_readers: tuple[str, ...] = ()
    personal_fields: PersonalFields = {}
    sealed_fields: PersonalFields = {}
    event_types = (ProgramOpened, ProgramQuotaRevised, ProgramBudgetRevised)
    summed_tables: tuple[str, ...] = ()
    by_stream = False
    reads_from: tuple[str, ...] = ()
    bulk_types: tuple[type[Event], ...] = ()

    def apply(self, tx: Tx, batch: Sequence[Recorded]) -> None:
        for recorded in batch:
            match recorded.event:
                case ProgramOpened() as event:
                    _opened(tx, recorded, event)
                case ProgramQuotaRevised() as event:
                    program_id = _program_id(tx, recorded)
                    tx.execute("UPDATE program_summary SET quota_total = :quota, "
                               "revised_at = :at WHERE program_id = :program_id",
                               {"quota": event.quota_total, "program_id": program_id,
                                "at": recorded.meta.recorded_at.isoformat()})
                    _write_cohort_quotas(tx, program_id, event.cohort_quotas)
                case ProgramBudgetRevised() as event:
                    program_id = _program_id(tx, recorded)
                    tx.execute("UPDATE program_summary SET budget_total_idr = :total, "
                               "revised_at = :at WHERE program_id = :program_id",
                               {"total": sum(event.budget_idr.values()),
                                "program_id": program_id,
                                "at": recorded.meta.recorded_at.isoformat()})
                    _write_budget(tx, program_id, event.budget_idr)


def _opened(tx: Tx, recorded: Recorded, event: ProgramOpened) -> None:
    tx.execute(upsert_sql("program_summary", SUMMARY_COLUMNS, ("program_id",)), {
        "program_id": event.program_id, "stream_id": str(recorded.stream_id),
        "region_code": event.region_code,
        "region_name": event.region_name, "fiscal_year": event.fiscal_year,
        "agreement_ref": event.agreement_ref, "quota_total": event.quota_total,
        "budget_total_idr": sum(event.budget_idr.values()),
        "coverage_start": event.coverage_start.isoformat(),
        "coverage_end": event.coverage_end.isoformat(),
        "enrollment_age_cap": event.enrollment_age_cap,
        "opened_at": recorded.meta.recorded_at.isoformat(),
        "revised_at": None,
    })
    _write_budget(tx, event.program_id, event.budget_idr)
    _write_cohort_quotas(tx, event.program_id, event.cohort_quotas)


def _program_id(tx: Tx, recorded: Recorded) -> str:
    """Revisions live on the program's stream and do not repeat its id."""
    row = tx.fetchone("SELECT program_id FROM program_summary WHERE stream_id = :stream_id",
                      {"stream_id": str(recorded.stream_id)})
    return row["program_id"]


def _write_budget(tx: Tx, program_id: str, budget_idr: dict[str, int]) -> None:
    tx.execute("DELETE FROM program_budget WHERE program_id = :program_id",
               {"program_id": program_id})
    tx.executemany(
        "INSERT INTO program_budget (program_id, funding_source, amount_idr) "
        "VALUES (:program_id, :source, :amount)",
        [{"program_id": program_id, "source": s, "amount": a} for s, a in budget_idr.items()],
    )


def _write_cohort_quotas(tx: Tx, program_id: str, cohort_quotas: dict[str, int]) -> None:
    tx.execute("DELETE FROM program_cohort_quota WHERE program_id = :program_id",
               {"program_id": program_id})
    tx.executemany(
        "INSERT INTO program_cohort_quota (program_id, cohort, quota) "
        "VALUES (:program_id, :cohort, :quota)",
        [{"program_id": program_id, "cohort": c, "quota": q} for c, q in cohort_quotas.items()],
    )
