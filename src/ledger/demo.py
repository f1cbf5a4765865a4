"""The Kotamobagu scenario: a year's enrollment of pekerja rentan, from files to KPJ.

Kota Kotamobagu (BPS 7174) signed its PKS with BPJS Ketenagakerjaan on 22 Feb
2024 for 9,000 workers (JKK+JKM) paid from the APBD; at signing only about
1,000 rows were verified, the rest blocked on NIK, name and birth-date
mismatches. The demo generates the villages' candidate lists and a civil-registry
extract with those errors (``ledger.demo_data``, fixed seed), then runs them
through the same imports a data officer uses: submit, verify (pemadanan), and
enroll the matched in phases (tahap) from the KPJ files BPJS TK returns. Then the
year goes on (``ledger.demo_year``): monthly bills and payments, one month paid late,
a double payment, deaths reported late, a budget revision; and the budget summary
and the findings they leave. Last, a second region (``ledger.demo_claims``): Kab.
Minahasa Tenggara's renewed 2024 agreement, co-funded by CSR, and its year of death and
accident claims, paid on time, paid late with the penalty, or rejected for an unpaid
month; and the claims report.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from ledger import demo_claims, demo_data, demo_year
from ledger.errors import ProgramNotFound
from ledger.importer import ImportReport, import_candidates, import_kpj, import_registry
from ledger.personal_data import key_source
from ledger.program import OpenProgram
from ledger.service import Actor
from ledger.settings import Settings
from ledger.system import System
from projections import views

ACTOR = Actor("demo", "admin")
REGION_CODE, REGION_NAME, FISCAL_YEAR = demo_data.KOTAMOBAGU, "Kota Kotamobagu", 2024
AGREEMENT_REF = "PKS/7174/BPJSTK/II/2024 (signed 2024-02-22)"
PACKAGE_IDR_PER_MONTH = 16_800  # JKK Rp10,000 + JKM Rp6,800, lowest BPU bracket
BUDGETED_MONTHS = 10  # March..December 2024
COVERAGE = (date(2024, 3, 1), date(2024, 12, 31))
PHASE_STARTS = (date(2024, 3, 1), date(2024, 5, 1), date(2024, 7, 1))

Say = Callable[[str], None]


@dataclass
class DemoResult:
    program_id: str
    demo_dir: Path
    reports: list[tuple[str, ImportReport]] = field(default_factory=list)
    """(label, report) of every import the scenario ran; none when it found itself run."""
    year: demo_year.YearResult | None = None
    """What the year of bills and payments did; None when it found itself run."""
    claims: demo_claims.ClaimsResult | None = None
    """What Minahasa Tenggara's year of claims did; None when it found itself run."""


def program_id_for(seed: int) -> str:
    return f"kotamobagu-2024-demo-{seed}"


def prepare_database(settings: Settings, *, configured: bool) -> Settings:
    """The demo's own SQLite file, emptied for every run, unless LEDGER_DATABASE_URL
    (``configured``) chose a database: then that one, as it is."""
    if configured:
        return settings
    path = settings.data_dir / "demo.sqlite"
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    return replace(settings, database_url=f"sqlite:///{path}")


def run(system: System, *, seed: int, count: int, say: Say) -> DemoResult:
    """Run the scenario (or find it already run) and print its summary through ``say``;
    its files go to ``<data dir>/demo``."""
    result = DemoResult(program_id_for(seed), demo_dir=system.settings.data_dir / "demo")
    try:
        system.ledger.program(result.program_id)
    except ProgramNotFound:
        _scenario(system, result, seed, count, say)
    else:
        say(f"Program {result.program_id} is already in this database: showing it as it is.")
    say("\n" + program_report(system, result.program_id, top=10))
    say("\n" + demo_year.year_report(system, result.program_id))
    result.claims = demo_claims.run(system, seed=seed,
                                    demo_dir=result.demo_dir / "minahasa-tenggara", say=say)
    _print_where(system.settings, result, say)
    return result


def _scenario(system: System, result: DemoResult, seed: int, count: int, say: Say) -> None:
    started = time.perf_counter()
    demo_dir = result.demo_dir
    demo_dir.mkdir(parents=True, exist_ok=True)
    candidates, registry = demo_dir / "candidates.csv", demo_dir / "registry.csv"
    _generate(candidates, registry, seed, count, say)
    _open_program(system, result.program_id, count, say)
    _step(result, "candidates", say, lambda: import_candidates(
        system, result.program_id, candidates, ACTOR,
        rejections_path=demo_dir / "candidates-rejections.csv"))
    _step(result, "registry", say, lambda: import_registry(
        system, result.program_id, registry, ACTOR,
        rejections_path=demo_dir / "registry-rejections.csv"))
    _enroll_in_phases(system, result, seed, say)
    say("The year's bills and payments (APBD, SP2D on the 10th):")
    result.year = demo_year.run_year(system, result.program_id, say)
    say(f"Scenario ran in {time.perf_counter() - started:.1f} s.")


def _generate(candidates: Path, registry: Path, seed: int, count: int, say: Say) -> None:
    summary = demo_data.generate_candidates(candidates, registry, count=count, seed=seed,
                                            region_code=REGION_CODE)
    errors = ", ".join(f"{kind.replace('_', ' ')} {n:,}"
                       for kind, n in summary.by_kind().items() if kind != "clean" and n)
    say(f"Generated {summary.candidate_rows:,} candidate rows from "
        f"{len(demo_data.villages_for(REGION_CODE))} villages (seed {seed}): "
        f"{summary.clean:,} clean; {errors}.")
    say(f"Generated the Disdukcapil extract: {summary.registry_rows:,} people.")


def _open_program(system: System, program_id: str, quota: int, say: Say) -> None:
    budget_idr = quota * PACKAGE_IDR_PER_MONTH * BUDGETED_MONTHS
    system.ledger.open_program(OpenProgram(
        program_id=program_id, region_code=REGION_CODE, region_name=REGION_NAME,
        fiscal_year=FISCAL_YEAR, agreement_ref=AGREEMENT_REF, quota_total=quota,
        budget_idr={"APBD": budget_idr}, coverage_start=COVERAGE[0],
        coverage_end=COVERAGE[1]), ACTOR)
    say(f"Opened {program_id}: {REGION_NAME} ({REGION_CODE}), {AGREEMENT_REF}; quota "
        f"{quota:,} JKK+JKM; APBD {rupiah(budget_idr)} ({quota:,} x "
        f"{rupiah(PACKAGE_IDR_PER_MONTH)} x {BUDGETED_MONTHS} months); "
        f"coverage {COVERAGE[0]}..{COVERAGE[1]}.")


def _enroll_in_phases(system: System, result: DemoResult, seed: int, say: Say) -> None:
    """BPJS TK returns KPJ numbers for the matched in tahap: one file per phase."""
    niks = demo_claims.matched_niks(system, result.program_id)
    size = -(-len(niks) // len(PHASE_STARTS))
    for phase, start in enumerate(PHASE_STARTS, start=1):
        name = f"tahap-{phase}"
        path = result.demo_dir / f"kpj-{name}.csv"
        demo_data.write_kpj_assignments(path, niks[(phase - 1) * size:phase * size],
                                        seed=seed + phase)
        _step(result, f"kpj {name}", say, lambda p=path, s=start, n=name: import_kpj(
            system, result.program_id, p, ACTOR, coverage_start=s, batch=n,
            rejections_path=result.demo_dir / f"kpj-{n}-rejections.csv"))


def _step(result: DemoResult, label: str, say: Say, step: Callable[[], ImportReport]) -> None:
    started = time.perf_counter()
    report = step()
    result.reports.append((label, report))
    say(f"Imported {label}: {describe(report)} ({time.perf_counter() - started:.1f} s).")


def _refusals(reports: list[tuple[str, ImportReport]]) -> list[tuple[str, str, int, str]]:
    """Refused rows per import and field, with the first reason as an example (counted
    from the rejections a report keeps, all of them unless an import refused over 1,000)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for label, report in reports:
        for rejection in report.rejections:
            groups.setdefault((label, rejection.field), []).append(rejection.reason)
    return [(label, field, len(reasons), reasons[0])
            for (label, field), reasons in groups.items()]


def describe(report: ImportReport) -> str:
    parts = [f"{report.rows:,} rows", f"{report.accepted:,} accepted",
             f"{report.unchanged:,} unchanged", f"{report.rejected:,} rejected"]
    parts += [f"{getattr(report, n):,} {n}" for n in ("matched", "mismatched", "enrolled")
              if getattr(report, n)]
    return ", ".join(parts) + f"; {report.events_appended:,} events appended"


def rupiah(amount_idr: int) -> str:
    """Rupiah as Indonesians write it: Rp1.512.000.000."""
    return "Rp" + f"{amount_idr:,}".replace(",", ".")


# The summary: plain-text tables, also what `ledger program show` prints.


def program_report(system: System, program_id: str, *, top: int | None) -> str:
    """A program's quota, statuses and backlog; ``top`` limits the reason and village
    tables (the demo shows ten of the city's thirty-three villages)."""
    summary = views.program_summary(system.storage.db, program_id)
    backlog = views.backlog(system.storage.db, program_id)
    totals = summary["totals"]
    budget = ", ".join(f"{b['funding_source']} {rupiah(b['amount_idr'])}"
                       for b in summary["budget"])
    return "\n".join([
        f"Program {program_id}: {summary['region_name']} ({summary['region_code']}), "
        f"fiscal year {summary['fiscal_year']}",
        f"  agreement {summary['agreement_ref']}; coverage {summary['coverage_start']}.."
        f"{summary['coverage_end']}; budget {budget}",
        f"  quota {summary['quota_total']:,}: {totals['enrolled']:,} enrolled, "
        f"{summary['quota_remaining']:,} left",
        "", "Participants by status",
        table(("status", "participants"),
              [(s, n) for s, n in totals.items() if s != "submitted"]
              + [("submitted (all)", totals["submitted"])]),
        "", "Top mismatch reasons (participants not matched)",
        table(("reason", "participants"),
              [(r["reason"], r["participants"]) for r in backlog["by_reason"][:top]]),
        "", "By village" + (f" (top {top} by backlog)" if top else ""),
        table(("village", "awaiting", "mismatched", "matched", "enrolled"),
              [(v["village"], v["awaiting_verification"], v["mismatched"], v["matched"],
                v["enrolled"]) for v in backlog["by_village"][:top]]),
    ])


def _print_where(settings: Settings, result: DemoResult, say: Say) -> None:
    if result.reports:
        say("\nRows refused by the imports (all of them are in the rejection reports)\n"
            + table(("import", "field", "rows", "for example"), _refusals(result.reports)))
    keys = key_source(settings.keys_json, settings.key_file, settings.data_dir)
    say(f"\nWhere the data is\n  database: {settings.redacted_url}\n"
        f"  data dir: {settings.data_dir}\n  personal-data keys: {keys} (names and NIKs "
        "are sealed with them: back them up apart from the database)\n"
        f"  demo files: {result.demo_dir} (Minahasa "
        f"Tenggara's in {result.demo_dir / 'minahasa-tenggara'})")
    for label, report in result.reports:
        if report.rejections_path:
            say(f"  rejections ({label}): {report.rejections_path}")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned, text left."""
    cells = ([[f"{c:,}" if isinstance(c, int) else str(c) for c in row] for row in rows]
             or [["(none)", *[""] * (len(headers) - 1)]])
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    right = [bool(rows) and all(isinstance(r[i], int) for r in rows)
             for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  " + "  ".join(v.rjust(w) if r else v.ljust(w)
                                for v, w, r in zip(values, widths, right, strict=True)).rstrip()

    return "\n".join(line(v) for v in (headers, ["-" * w for w in widths], *cells))
