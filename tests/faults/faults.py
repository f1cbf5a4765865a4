"""Helpers of the fault tests: real `ledger` processes, killed or starved of their database,
and the questions asked of the log afterwards (is every row there once, does the chain hold,
do the read models equal a rebuild)."""

import csv
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

from ledger import audit
from ledger.demo_data import build_nik
from ledger.events import CandidateSubmitted
from ledger.program import OpenProgram
from ledger.service import Actor
from ledger.system import System, read_models

PROGRAM = "kotamobagu-2024"
CLERK = Actor("clerk-gogagoman", "enrollment_clerk")
CANDIDATE_HEADER = ("nik", "full_name", "birth_date", "sex", "mother_name", "address",
                    "village", "occupation", "cohort", "submitted_by")


def kotamobagu(quota: int = 50_000) -> OpenProgram:
    return OpenProgram(program_id=PROGRAM, region_code="7174", region_name="Kota Kotamobagu",
                       fiscal_year=2024, agreement_ref="PKS/7174/BPJSTK/II/2024",
                       quota_total=quota, budget_idr={"APBD": 1_512_000_000},
                       coverage_start=date(2024, 3, 1), coverage_end=date(2024, 12, 31))


def villager(n: int) -> dict[str, str]:
    """The n-th distinct candidate of Gogagoman: a valid NIK of its own (serials 1..9000 per
    birth date, then the next birth date)."""
    birth = date(1980, 1, 1) + timedelta(days=400 * (n // 9000))
    sex = "LP"[n % 2]
    return {"nik": build_nik("717401", birth, sex, n % 9000 + 1), "full_name": f"Warga {n}",
            "birth_date": birth.isoformat(), "sex": sex, "mother_name": "Nurhayati Paputungan",
            "address": "Jl. Adampe No. 4", "village": "Gogagoman",
            "occupation": "Pedagang Kaki Lima", "cohort": "informal",
            "submitted_by": "Kelurahan Gogagoman"}


def village_list(path: Path, rows: int) -> list[str]:
    """Write a candidate list of ``rows`` distinct people; return their NIKs in file order."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, CANDIDATE_HEADER)
        writer.writeheader()
        people = [villager(n) for n in range(rows)]
        writer.writerows(people)
    return [p["nik"] for p in people]


def ledger_env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    return {**env, "LEDGER_DATABASE_URL": database_url, "LEDGER_DATA_DIR": str(data_dir)}


def ledger_process(env: dict[str, str], *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ledger.cli", *args], env=env, **popen)


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str,
               every_s: float = 0.01) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout_s}s waiting for {what}")
        time.sleep(every_s)


def submissions_by_stream(system: System) -> Counter[UUID]:
    """How many CandidateSubmitted events each stream holds, read from the whole log."""
    counts: Counter[UUID] = Counter()
    after = 0
    while batch := system.store.read_log(after, 5000):
        counts.update(r.stream_id for r in batch if isinstance(r.event, CandidateSubmitted))
        after = batch[-1].position
    return counts


def read_model_rows(system: System) -> dict[str, list[str]]:
    """Every row of every projection's tables, order-free, comparable across a rebuild."""
    tables = [t for p in read_models(system.keyring) for t in p.tables]
    with system.storage.db.snapshot() as tx:
        return {t: sorted(repr(sorted(r.items())) for r in tx.fetchall(f"SELECT * FROM {t}"))
                for t in tables}


def assert_whole(system: System, niks: list[str]) -> None:
    """Every NIK is one participant with exactly one submission, nothing else was submitted,
    the hash chain verifies, and the caught-up read models equal a rebuild from the log."""
    submissions = submissions_by_stream(system)
    streams = {system.ledger.participant_id(PROGRAM, nik) for nik in niks}
    assert len(streams) == len(niks)  # distinct people, distinct streams
    doubled = {sid: n for sid, n in submissions.items() if n != 1}
    assert not doubled, f"{len(doubled)} participants submitted more than once"
    assert set(submissions) == streams, (
        f"{len(streams - set(submissions))} rows missing, "
        f"{len(set(submissions) - streams)} participants nobody submitted")

    verdict = audit.verify(system.storage.db)
    assert verdict.ok, verdict
    assert verdict.events == system.store.head()

    system.projections.catch_up()
    assert system.projections.lag() == 0
    incremental = read_model_rows(system)
    assert len(incremental["participant_status"]) == len(niks)
    system.projections.rebuild()
    assert read_model_rows(system) == incremental
