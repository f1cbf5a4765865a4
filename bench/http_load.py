"""HTTP load benchmark: concurrent clients on loopback against the real API on PostgreSQL.

Set-up (not measured): in a scratch database, programs of ``--people`` people
each are loaded through the service's bulk paths (``submit_batch`` verified
against an in-memory registry, then ``enroll_batch``: the COPY path the imports
use) until the log holds ``--events`` events. 60% of each program's people are
enrolled and 40% matched and waiting for a KPJ, so there is someone to enroll.
The first ``--active-programs`` programs also get their January bill generated
and paid (so a January accident is covered) and a bill for each later month,
unpaid, for the load to pay. Then ``VACUUM ANALYZE``. With ``--keep NAME`` the
preloaded database is kept and each run measures on a copy of it. One token per
role, scoped to the active regions, is made for each run.

Measured: ``--api-processes`` ``ledger serve`` processes (as deployed: one
process per container, several behind a load balancer; each client keeps to
one of them, which stands in for the balancer) and a projection worker
(``ledger projections run``), then ``--clients`` threads, each with one
keep-alive connection, sending for ``--duration`` seconds after ``--warmup``
seconds (each API process folds a program's stream once, on its first command
there) a mix of commands (submissions, enrollments, bill payments, claim
steps: a JKK claim reported, its documents, assessment, approval, payouts and
closure) and queries (a participant with its history, the budget report).
Then the same mix, on fresh people, through the services of ``open_system`` in
one process with as many threads and no HTTP, doing what the API does: a command
answers from what it decided, a read first catches the read models up to the log
head (waiting for the worker when it is already applying).

    python bench/http_load.py [--events 100000] [--people 10000] [--clients 16]
                              [--api-processes 2] [--duration 30] [--warmup 5]
                              [--keep NAME] [--database-url URL]

Prints one JSON object. The load generator shares the machine with the
servers, the worker and PostgreSQL: its CPU is reported beside theirs.
"""

import argparse
import http.client
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import msgspec
import psycopg

from ledger.bill import GenerateBill, RecordPayment
from ledger.claim import (
    ApproveClaim,
    AssessClaim,
    CloseClaim,
    ReceiveDocument,
    RecordPayout,
    ReportClaim,
)
from ledger.errors import LedgerError
from ledger.participant import CandidateData, Enroll
from ledger.program import OpenProgram
from ledger.registry import InMemoryRegistry
from ledger.service import Actor
from ledger.settings import Settings
from ledger.system import open_system
from ledger.tokens import CLAIMS_OFFICER, ENROLLMENT_CLERK, FINANCE_OFFICER, create_token, utc_now
from ledger.verification import RegistryRecord
from scratch import (
    add_keep_option,
    add_server_option,
    in_child,
    kept_database,
    scratch_database,
)

YEAR = 2024
TARIFF_IDR = 16_800
BATCH = 5_000
ENROLLED_SHARE = 0.6
LINES_PER_PAYMENT = 10
# The documents a non-fatal, non-traffic JKK claim requires (ledger/claim_documents.py).
JKK_DOCUMENTS = ("kpj_card", "accident_report_stage_1", "accident_report_stage_2",
                 "chronology_with_witnesses", "medical_receipts", "savings_book", "ktp")
# Requests per hundred: four in five are commands, as at officers' desks, where most
# reads are the answer a command already returns.
MIX = {"submit": 25, "enroll": 15, "payment": 10, "claim_step": 30,
       "participant_read": 15, "budget_read": 5}
COMMANDS = ("submit", "enroll", "payment", "claim_step")
ROLE_OF_KIND = {"submit": ENROLLMENT_CLERK, "enroll": ENROLLMENT_CLERK,
                "payment": FINANCE_OFFICER, "claim_step": CLAIMS_OFFICER,
                "participant_read": ENROLLMENT_CLERK, "budget_read": FINANCE_OFFICER}
TARGETS = {"commands_per_s": 1000, "command_p99_ms": 50.0, "query_p99_ms": 10.0}
CONFLICT = ("409", "concurrency-conflict")
DAYS = 38 * 365  # birth dates spread over 38 years, as in bench/contributions.py


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    with _loaded(args) as (url, data_dir, plan):
        plan["tokens"] = in_child(_tokens, url, data_dir, [p["region"] for p in plan["active"]])
        env = {**os.environ, "LEDGER_DATABASE_URL": url, "LEDGER_DATA_DIR": data_dir,
               "LEDGER_DB_POOL_SIZE": "10"}
        worker = subprocess.Popen([sys.executable, "-m", "ledger.cli", "projections", "run"],
                                  env=env, stderr=subprocess.DEVNULL)
        try:
            http_figures = _http_phase(args, env, plan)
            in_process = in_child(_in_process_phase, url, data_dir, plan, args.clients,
                                  args.duration, args.warmup)
        finally:
            worker_cpu = _stop(worker)
    commands = http_figures["commands"]
    queries = {kind: http_figures["by_kind"][kind]["p99_ms"]
               for kind in ("participant_read", "budget_read")}
    figures = {
        "benchmark": "http_load",
        "events_in_store": plan["events"],
        "programs": plan["programs"],
        "people_per_program": args.people,
        "active_programs": len(plan["active"]),
        "clients": args.clients,
        "api_processes": args.api_processes,
        "duration_s": args.duration,
        "http": http_figures,
        "in_process": in_process,
        "http_vs_in_process_commands_per_s": round(
            commands["per_s"] / in_process["commands"]["per_s"], 2),
        "projection_worker_cpu_s": round(worker_cpu, 1),
        "preload": {"seconds": plan["seconds"], "events": plan["events"],
                    "reused": plan.get("reused", False)},
        "targets": TARGETS,
        "met": {
            "commands_per_s": commands["per_s"] >= TARGETS["commands_per_s"],
            "command_p99_ms": commands["p99_ms"] < TARGETS["command_p99_ms"],
            "query_p99_ms": all(p99 < TARGETS["query_p99_ms"] for p99 in queries.values()),
            "no_server_errors": http_figures["server_errors"] == 0,
        },
    }
    print(json.dumps(figures, indent=2))


@contextmanager
def _loaded(args: argparse.Namespace):
    """(database URL, data directory, plan) of a preloaded log: a scratch one, or with
    ``--keep`` a copy of the kept one, preloaded first when it is not there yet."""
    if args.keep is None:
        with scratch_database(args.database_url) as url, \
                tempfile.TemporaryDirectory(prefix="ledger-bench-") as data_dir:
            yield url, data_dir, in_child(_preload, url, data_dir, args.events, args.people,
                                          args.active_programs)
        return
    sizes = {"events": args.events, "people": args.people, "active": args.active_programs}
    with kept_database(args.database_url, f"http_{args.keep}") as (kept_url, created):
        data_dir = Path(tempfile.gettempdir()) / f"ledger-bench-keep-http_{args.keep}"
        plan_file = data_dir / "plan.json"
        if created:
            data_dir.mkdir(exist_ok=True)
            plan = in_child(_preload, kept_url, str(data_dir), args.events, args.people,
                            args.active_programs)
            plan_file.write_text(json.dumps({**plan, "sizes": sizes}))
        elif not plan_file.exists() or json.loads(plan_file.read_text())["sizes"] != sizes:
            raise SystemExit(f"ledger_bench_keep_http_{args.keep} was kept with other sizes or "
                             "never preloaded in full: drop it (DROP DATABASE "
                             f"ledger_bench_keep_http_{args.keep}) or pick another --keep name")
        plan = json.loads(plan_file.read_text())
        plan["reused"] = not created
    with scratch_database(args.database_url,
                          template=f"ledger_bench_keep_http_{args.keep}") as url:
        yield url, str(data_dir), plan


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000,
                        help="events in the log before the load (programs are added until then)")
    parser.add_argument("--people", type=int, default=10_000, help="people per program")
    parser.add_argument("--active-programs", type=int, default=4,
                        help="programs the load works on (one region each)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--api-processes", type=int, default=2)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    add_keep_option(parser, "keep the preloaded log (ledger_bench_keep_http_NAME) for later "
                            "runs, which measure on a copy of it: ten million events take "
                            "over twenty minutes to load")
    add_server_option(parser)
    return parser.parse_args(argv)


# Set-up


def region_code(number: int) -> str:
    """Distinct 4-digit region codes from 7101 on: one program per region."""
    return f"{71 + number // 90}{1 + number % 90:02d}"


def program_id(number: int) -> str:
    return f"bench-{region_code(number)}-{YEAR}"


def person(region: str, n: int) -> tuple[CandidateData, RegistryRecord]:
    """Person ``n`` of a region: a valid NIK (40 added to a woman's day of birth), distinct
    for every ``n``, and the registry's record of them."""
    born = date(1965, 1, 1) + timedelta(days=n % DAYS)
    sex = "P" if n % 2 else "L"
    day = born.day + 40 if sex == "P" else born.day
    nik = f"{region}{1 + n % 9:02d}{day:02d}{born.month:02d}{born.year % 100:02d}" \
          f"{1 + n // DAYS:04d}"
    name = f"Peserta {region} {n}"
    return (CandidateData(nik=nik, full_name=name, birth_date=born, sex=sex,
                          mother_name=f"Ibu {n}", address=f"Jl. Bench {n}",
                          village=f"Kelurahan {n % 40}", occupation="pedagang kaki lima",
                          cohort="informal", submitted_by="bench"),
            RegistryRecord(nik=nik, full_name=name, birth_date=born, sex=sex,
                           mother_name=f"Ibu {n}"))


def _preload(url: str, data_dir: str, events: int, people: int, active: int) -> dict:
    started = time.perf_counter()
    actor = Actor("bench", "admin")
    plan: dict = {"active": []}
    with open_system(Settings(database_url=url, data_dir=Path(data_dir))) as system:
        number = 0
        while number < active or system.store.head() < events:
            enrolled = _load_program(system, number, people, actor)
            if number < active:
                plan["active"].append(_bills(system, number, enrolled, people, actor))
            number += 1
        plan["programs"] = number
        plan["events"] = system.store.head()
    with psycopg.connect(url, autocommit=True) as conn:
        # What autovacuum would have done while the log grew. This machine's PostgreSQL
        # runs with it off: at ten million events, without statistics, stream reads took
        # parallel sequential scans and reads' p99 was over 4 s.
        conn.execute("VACUUM ANALYZE")
    plan["seconds"] = round(time.perf_counter() - started, 1)
    return plan


def _tokens(url: str, data_dir: str, regions: list[str]) -> dict[str, str]:
    """A token per role, scoped to the active regions, made for this run (a kept log's
    would have expired)."""
    with open_system(Settings(database_url=url, data_dir=Path(data_dir))) as system:
        return {role: create_token(system.storage.db, f"bench {role}", role, regions, 1,
                                   utc_now())[1]
                for role in set(ROLE_OF_KIND.values())}


def _load_program(system, number: int, people: int, actor: Actor) -> list[tuple[str, str]]:
    """Open the program, submit and verify everyone, enroll the first 60%; answer the
    enrolled (participant id, name) and keep the waiting ones in the plan's lists."""
    region, pid = region_code(number), program_id(number)
    system.ledger.open_program(OpenProgram(
        program_id=pid, region_code=region, region_name=f"Kabupaten {region}", fiscal_year=YEAR,
        agreement_ref=f"PKS/{region}/BENCH", quota_total=people,
        budget_idr={"APBD": people * TARIFF_IDR * 12}, coverage_start=date(YEAR, 1, 1),
        coverage_end=date(YEAR, 12, 31)), actor)
    to_enroll = int(people * ENROLLED_SHARE)
    enrolled = []
    for start in range(0, people, BATCH):
        rows = [person(region, n) for n in range(start, min(start + BATCH, people))]
        registry = InMemoryRegistry("dukcapil:bench", [record for _, record in rows])
        results = system.ledger.submit_batch(pid, [data for data, _ in rows], actor,
                                             registry=registry)
        _all_done(results, "submit")
        # The first 60% of the program's people, in order: the rest wait for a KPJ.
        chosen = [(r.participant_id, data.full_name) for r, (data, _)
                  in zip(results, rows, strict=True)][:max(0, to_enroll - len(enrolled))]
        results = system.ledger.enroll_batch(pid, [
            (participant, Enroll(kpj=f"{number:03d}{start + i:08d}",
                                 coverage_start=date(YEAR, 1, 1), batch="tahap-1"))
            for i, (participant, _) in enumerate(chosen)], actor)
        _all_done(results, "enroll")
        enrolled += [(str(participant), name) for participant, name in chosen]
        system.projections.catch_up()
    return enrolled


def _bills(system, number: int, enrolled: list[tuple[str, str]], people: int,
           actor: Actor) -> dict:
    """January billed and paid in full (so a January accident is covered); every later
    month billed and left for the load to pay, ten lines a payment."""
    pid = program_id(number)
    january = system.contributions.generate_bill(pid, GenerateBill(period=f"{YEAR}-01"), actor)
    system.contributions.record_payment(pid, january.issued.bill_id, RecordPayment(
        payment_ref=f"SP2D/{pid}/01", paid_on=date(YEAR, 1, 10),
        amount_idr=january.billed_idr), actor)
    later = [system.contributions.generate_bill(pid, GenerateBill(period=f"{YEAR}-{m:02d}"),
                                                actor).issued.bill_id for m in range(2, 13)]
    system.projections.catch_up()
    region = region_code(number)
    waiting = [str(system.ledger.participant_id(pid, person(region, n)[0].nik))
               for n in range(len(enrolled), people)]
    return {"program_id": pid, "region": region, "enrolled": enrolled, "waiting": waiting,
            "bills": later, "line_idr": january.issued.lines[0].amount_idr,
            "people": people}


def _all_done(results, what: str) -> None:
    refused = [r.error for r in results if r.error is not None]
    if refused:
        raise RuntimeError(f"{what}: {len(refused)} refused, e.g. {refused[0]!r}")


# The workload: what one client sends next


class Workload:
    """One client's commands and queries, in one program: its own slice of the people
    waiting to be enrolled and of the enrolled (to read and to claim for), its own bill to
    pay, new candidates of its own, and one claim at a time taken through every step."""

    def __init__(self, plan: dict, client: int, clients: int, phase: int) -> None:
        active = plan["active"]
        program = active[client % len(active)]
        # Clients of one program share its people in slices; the two phases take different
        # slices, so the in-process run enrolls and claims for people the HTTP run did not.
        own, per_program = client // len(active), -(-clients // len(active))
        slices = 2 * per_program
        self.slot = phase * per_program + own
        self.program_id, self.region = program["program_id"], program["region"]
        self.waiting = program["waiting"][self.slot::slices]
        self.claimants = program["enrolled"][self.slot::slices]
        self.readable = [pid for pid, _ in program["enrolled"]]
        self.bill_id = program["bills"][own % len(program["bills"])]
        self.payment_idr = program["line_idr"] * LINES_PER_PAYMENT
        self.random = random.Random(client * 2 + phase)
        self.tag = f"p{phase}c{client}"
        self.kpj_prefix = f"{phase}{client:02d}"  # KPJ numbers are 11 digits
        self.first_new = program["people"] + (phase * clients + client) * 100_000
        self.counter = 0
        self.steps: list[tuple] = []
        self.payee = ""

    def next(self) -> tuple[str, tuple]:
        kinds = [k for k in MIX if k != "enroll" or self.waiting]
        if not self.steps and not self.claimants:
            kinds.remove("claim_step")
        kind = self.random.choices(kinds, [MIX[k] for k in kinds])[0]
        self.counter += 1
        if kind == "submit":
            return kind, ("submit", person(self.region, self.first_new + self.counter)[0])
        if kind == "enroll":
            return kind, ("enroll", self.waiting.pop(), Enroll(
                kpj=f"9{self.kpj_prefix}{self.counter:07d}", coverage_start=date(YEAR, 2, 1),
                batch="tahap-2"))
        if kind == "payment":
            return kind, ("payment", self.bill_id, RecordPayment(
                payment_ref=f"SP2D/{self.tag}/{self.counter}", paid_on=date(YEAR, 3, 10),
                amount_idr=self.payment_idr))
        if kind == "claim_step":
            if not self.steps:
                self._new_claim()
            return kind, self.steps.pop(0)
        if kind == "participant_read":
            return kind, ("participant", self.random.choice(self.readable))
        return kind, ("budget",)

    def _new_claim(self) -> None:
        participant, name = self.claimants.pop()
        claim_id = f"JKK-{self.tag}-{self.counter}"
        self.payee = name
        self.steps = [("report", participant, ReportClaim(
            benefit="JKK", incident_date=date(YEAR, 1, 15), reported_on=date(YEAR, 1, 16),
            reporter_name=name, reporter_relation="self",
            circumstances="fell from a market stall's roof", claim_id=claim_id))]
        self.steps += [("documents", claim_id, ReceiveDocument(
            document=d, received_on=date(YEAR, 1, 20), reference=f"{claim_id}/{d}"))
            for d in JKK_DOCUMENTS]
        self.steps += [("assessment", claim_id, AssessClaim(
                            assessed_on=date(YEAR, 1, 22), medical_cost_idr=1_250_000)),
                       ("approval", claim_id, ApproveClaim(approved_on=date(YEAR, 1, 22)))]

    def assessed(self, claim_id: str, lines: list[tuple[str, int]]) -> None:
        """The assessment's benefit lines are known: a payout for each, then the closure."""
        self.steps += [("payouts", claim_id, RecordPayout(
            payout_ref=f"TRF/{claim_id}/{n}", payee_name=self.payee, relation="self",
            component=component, amount_idr=amount, paid_on=date(YEAR, 1, 25)))
            for n, (component, amount) in enumerate(lines)]
        self.steps.append(("closure", claim_id, CloseClaim(closed_on=date(YEAR, 1, 26))))


def _run_clients(workloads: list[Workload], send, duration: float, warmup: float) -> dict:
    """Every client in its own thread until the end; samples between ``warmup`` and
    ``warmup + duration`` only. ``send(client, kind, op)`` answers (status, lines or None)."""
    start = time.perf_counter() + warmup
    end = start + duration
    samples: list[list[tuple[str, int, float]]] = [[] for _ in workloads]

    def client(number: int) -> None:
        workload, mine = workloads[number], samples[number]
        while (began := time.perf_counter()) < end:
            kind, op = workload.next()
            status, lines = send(number, kind, op)
            took = time.perf_counter() - began
            if lines is not None:
                workload.assessed(op[1], lines)
            if began >= start:
                mine.append((kind, status, took))

    in_threads(client, len(workloads))
    return _figures([s for mine in samples for s in mine], duration)


def in_threads(work: Callable[[int], None], count: int) -> None:
    """``work(n)`` for each n below ``count``, each in a thread of its own, until all
    end; the first error any of them raised is raised here, not lost in its thread."""
    failures: list[BaseException] = []

    def run(number: int) -> None:
        try:
            work(number)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def _figures(samples: list[tuple[str, int, float]], duration: float) -> dict:
    by_kind: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, Counter] = defaultdict(Counter)
    for kind, status, took in samples:
        by_kind[kind].append(took * 1000)
        statuses[kind][str(status)] += 1
    commands = [ms for kind in COMMANDS for ms in by_kind[kind]]
    return {
        "commands": _latency(commands, duration),
        "requests_per_s": round(len(samples) / duration),
        "by_kind": {kind: {**_latency(by_kind[kind], duration),
                           "statuses": dict(sorted(statuses[kind].items()))}
                    for kind in MIX if by_kind[kind]},
        "server_errors": sum(n for s in statuses.values() for code, n in s.items()
                             if code.startswith("5")),
        "conflicts": sum(n for s in statuses.values() for code, n in s.items()
                         if code in CONFLICT),
        # Over HTTP a 4xx; in process, the refusal's code.
        "other_refusals": sum(n for s in statuses.values() for code, n in s.items()
                              if code[0] not in "25" and code not in CONFLICT),
    }


def _latency(ms: list[float], duration: float) -> dict:
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"count": len(ms), "per_s": round(len(ms) / duration, 1),
            "p50_ms": round(cuts[49], 2), "p95_ms": round(cuts[94], 2),
            "p99_ms": round(cuts[98], 2), "max_ms": round(max(ms), 2)}


# Over HTTP


def _http_phase(args: argparse.Namespace, env: dict, plan: dict) -> dict:
    ports = [8700 + n for n in range(args.api_processes)]
    servers = [subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve", "--port", str(p)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for p in ports]
    try:
        for port in ports:
            _wait_healthy(port)
        workloads = [Workload(plan, n, args.clients, phase=0) for n in range(args.clients)]
        connections = [http.client.HTTPConnection("127.0.0.1", ports[n % len(ports)], timeout=60)
                       for n in range(args.clients)]
        headers = {role: {"Authorization": f"Bearer {secret}",
                          "Content-Type": "application/json"}
                   for role, secret in plan["tokens"].items()}
        cpu_before = _cpu_s()

        def send(client: int, kind: str, op: tuple) -> tuple[int, list | None]:
            method, path, body = _request(workloads[client].program_id, op)
            connection = connections[client]
            connection.request(method, path, body, headers[ROLE_OF_KIND[kind]])
            response = connection.getresponse()
            content = response.read()
            lines = None
            if op[0] == "assessment" and response.status < 300:
                lines = [(line["component"], line["amount_idr"])
                         for line in json.loads(content)["assessment"]["lines"]]
            return response.status, lines

        figures = _run_clients(workloads, send, args.duration, args.warmup)
        figures["load_generator_cpu_s"] = round(_cpu_s() - cpu_before, 1)
    finally:
        figures_cpu = [_stop(server) for server in servers]
    figures["api_processes_cpu_s"] = [round(cpu, 1) for cpu in figures_cpu]
    return figures


def _request(program: str, op: tuple) -> tuple[str, str, bytes | None]:
    base = f"/programs/{program}"
    name = op[0]
    if name == "submit":
        return "POST", f"{base}/participants", msgspec.json.encode(op[1])
    if name == "enroll":
        return "POST", f"{base}/participants/{op[1]}/enrollment", msgspec.json.encode(op[2])
    if name == "payment":
        return "POST", f"{base}/bills/{op[1]}/payments", msgspec.json.encode(op[2])
    if name == "report":
        return "POST", f"{base}/participants/{op[1]}/claims", msgspec.json.encode(op[2])
    if name == "participant":
        return "GET", f"{base}/participants/{op[1]}", None
    if name == "budget":
        return "GET", f"{base}/reports/budget", None
    return "POST", f"{base}/claims/{op[1]}/{name}", msgspec.json.encode(op[2])


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API on port {port} did not start") from None
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> float:
    """Stop a child and answer the CPU seconds it used."""
    process.send_signal(signal.SIGTERM)
    _, _, usage = os.wait4(process.pid, 0)
    return usage.ru_utime + usage.ru_stime


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


# In process, without HTTP


def _in_process_phase(url: str, data_dir: str, plan: dict, clients: int, duration: float,
                      warmup: float) -> dict:
    from projections.report_files import budget_report
    from projections.views import bill, participant

    actors = {kind: Actor(f"bench {role}", role) for kind, role in ROLE_OF_KIND.items()}
    with open_system(Settings(database_url=url, data_dir=Path(data_dir), pool_size=10)) as system:
        workloads = [Workload(plan, n, clients, phase=1) for n in range(clients)]
        claim_steps = {"documents": system.claims.receive_document,
                       "assessment": system.claims.assess, "approval": system.claims.approve,
                       "payouts": system.claims.pay, "closure": system.claims.close}

        def send(client: int, kind: str, op: tuple) -> tuple[int, list | None]:
            program, actor = workloads[client].program_id, actors[kind]
            try:
                return _decide(program, actor, op)
            except LedgerError as error:  # a refusal the API would answer as a 4xx
                return error.code, None

        def _decide(program: str, actor: Actor, op: tuple) -> tuple[int, list | None]:
            name, lines = op[0], None
            if name == "participant":  # what GET /participants/{id} reads
                system.ledger.check_program(program)
                system.ledger.history(program, UUID(op[1]))
                system.projections.catch_up_with(UUID(op[1]), only=("participants",))
                participant(system.storage.db, program, op[1])
                return 200, None
            if name == "budget":
                budget_report(system, program)
                return 200, None
            if name == "submit":
                system.ledger.submit(program, op[1], actor)
            elif name == "enroll":
                system.ledger.enroll(program, UUID(op[1]), op[2], actor)
            elif name == "payment":  # answered from the bills read model, as over HTTP
                system.contributions.record_payment(program, op[1], op[2], actor)
                system.projections.catch_up()
                bill(system.storage.db, program, op[1])
            elif name == "report":
                system.claims.report(program, UUID(op[1]), op[2], actor)
            else:
                claim = claim_steps[name](program, op[1], op[2], actor)
                if name == "assessment":
                    lines = [(line.component, line.amount_idr)
                             for line in claim.assessment.lines]
            return 201, lines

        cpu_before = _cpu_s()
        figures = _run_clients(workloads, send, duration, warmup)
        figures["process_cpu_s"] = round(_cpu_s() - cpu_before, 1)
    return figures


if __name__ == "__main__":
    sys.exit(main())
