"""The demo's second region: Kab. Minahasa Tenggara's 2024 year of claims.

Kabupaten Minahasa Tenggara (BPS 7109) renewed its 2023 agreement with BPJS
Ketenagakerjaan for 2024: last year's members carry over from 1 January, paid
monthly from the APBD, and a mining company's CSR pledge pays December. The
demo re-matches the carried-over list against Disdukcapil and enrolls the
matched (``ledger.demo_data`` for region 7109, the same imports a data officer
uses), then lives the year in date order, bills and claims interleaved, through
the same service calls a finance officer and a claims officer make:

- every month's bill is paid by SP2D on the 10th, except that July's SP2D leaves
  out the last few people on the bill, held back "pending data validation", and
  nobody pays their July before its arrears window closes;
- three deaths (JKM), each paid to the heirs within three working days of the last
  document (the clock skips Good Friday, Maulid Nabi and the regional election day)
  and handed over symbolically by the Bupati afterwards; each death claim ends
  the member's cover;
- an ojek driver's traffic accident (JKK: treatment, transport and two months'
  temporary incapacity): the police report completes the file, the transfer comes
  eight days after its due day, and BPJS TK pays the 1% a day penalty on its own;
- a farmer's machete wound in July, one of the people whose July was held back:
  rejected, ``month_not_covered`` naming 2024-07;
- a construction labourer's fall in October, treated and paid on time.

Then it prints the claims report as of 31 December 2024 with the report text
renderer. On a database that already holds the program it only prints the report.
"""

import heapq
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import msgspec

from ledger import demo_data, periods, service_levels
from ledger.benefits import TransportCost
from ledger.bill import Bill, GenerateBill, RecordPayment
from ledger.claim import (
    LATE_PENALTY,
    ApproveClaim,
    AssessClaim,
    Claim,
    CloseClaim,
    ReceiveDocument,
    RecordHeir,
    RecordPayout,
    RejectClaim,
    ReportClaim,
)
from ledger.errors import ProgramNotFound
from ledger.importer import import_candidates, import_kpj, import_registry
from ledger.program import OpenProgram
from ledger.service import Actor
from ledger.system import System
from projections import report_files, views
from projections.budget import budget_summary
from projections.claims_report import claims_report

REGION_CODE, REGION_NAME, FISCAL_YEAR = "7109", "Kab. Minahasa Tenggara", 2024
AGREEMENT_REF = "PKS/7109/BPJSTK/I/2024, renewal of the 2023 PKS (signed 2024-01-03)"
CANDIDATES = 400
"""Last year's members, as the villages hand the list in again."""
PACKAGE_IDR_PER_MONTH = 16_800  # JKK Rp10,000 + JKM Rp6,800, lowest BPU bracket
COVERAGE = (date(2024, 1, 1), date(2024, 12, 31))
BATCH = "lanjutan-2023"
CSR_IDR, CSR_PERIOD = 10_000_000, "2024-12"
"""The CSR pledge, and the month it pays; the APBD pays the other eleven."""
PAY_DAY = 10
"""SP2D on the 10th, or the first working day after it."""
HELD_BACK_PERIOD, HELD_BACK = "2024-07", 8
"""July's SP2D leaves out the last eight people on the bill: their July is never paid."""
YEAR_END = date(2024, 12, 31)
AFTER_TREATMENT = ("accident_report_stage_2", "medical_receipts")
"""An accident's documents that come once the treatment is over."""

ADMIN = Actor("demo-7109", "admin")
CLERK = Actor("demo-7109-clerk", "enrollment_clerk")
FINANCE = Actor("demo-7109-finance", "finance_officer")
OFFICER = Actor("demo-7109-claims", "claims_officer")

Say = Callable[[str], None]
Story = Iterator[date]
"""A generator that yields the business day of its next step, then takes it when resumed."""


@dataclass
class ClaimsResult:
    program_id: str
    enrolled: int = 0
    held_back: list[str] = field(default_factory=list)
    """Participants whose July the SP2D left out."""
    died: list[str] = field(default_factory=list)
    """Participants whose deaths the claims reported (and terminated)."""
    death_claims: list[str] = field(default_factory=list)
    late_claim: str | None = None
    late_penalty_idr: int = 0
    rejected_claim: str | None = None
    on_time_claim: str | None = None


def program_id_for(seed: int) -> str:
    return f"minahasa-tenggara-2024-demo-{seed}"


def run(system: System, *, seed: int, demo_dir: Path, say: Say) -> ClaimsResult | None:
    """Run the year (or find it already run) and print the claims report; the year's files
    go to ``demo_dir``. None when the program was already in the database."""
    program_id = program_id_for(seed)
    say(f"\n{REGION_NAME} {FISCAL_YEAR}: a year of JKM and JKK claims")
    try:
        system.ledger.program(program_id)
    except ProgramNotFound:
        result = ClaimsResult(program_id)
    else:
        say(f"Program {program_id} is already in this database: showing its claims as they "
            f"are.")
        result = None
    if result is not None:
        started = time.perf_counter()
        _enroll(system, result, seed, demo_dir, say)
        say("The year in date order: bills paid by SP2D on the 10th (or the next working "
            "day), and the claims as they were settled:")
        _Year(system, result, say).run()
        say(_year_end(system, result))
        say(f"Minahasa Tenggara's year ran in {time.perf_counter() - started:.1f} s.")
    say("\n" + claims_text(system, program_id))
    return result


def claims_text(system: System, program_id: str, as_of: date = YEAR_END) -> str:
    """The program's claims report as of ``as_of``, as the text renderer lays it out."""
    system.projections.catch_up()
    position = system.store.head()
    with system.storage.db.snapshot() as tx:
        found = claims_report(tx, program_id, as_of)
    if found is None:
        return f"(no claims report for {program_id})"
    report = report_files.ProgramClaimsReport(position=position,
                                               **msgspec.structs.asdict(found))
    return report_files.text(report_files.claims_title(report),
                             report_files.claims_sections(report))


# Opening and enrollment: last year's members, matched again.


def _enroll(system: System, result: ClaimsResult, seed: int, demo_dir: Path,
            say: Say) -> None:
    demo_dir.mkdir(parents=True, exist_ok=True)
    candidates, registry = demo_dir / "candidates.csv", demo_dir / "registry.csv"
    demo_data.generate_candidates(candidates, registry, count=CANDIDATES, seed=seed + 7109,
                                  region_code=REGION_CODE)
    apbd = CANDIDATES * PACKAGE_IDR_PER_MONTH * 11
    system.ledger.open_program(OpenProgram(
        program_id=result.program_id, region_code=REGION_CODE, region_name=REGION_NAME,
        fiscal_year=FISCAL_YEAR, agreement_ref=AGREEMENT_REF, quota_total=CANDIDATES,
        budget_idr={"APBD": apbd, "CSR": CSR_IDR}, coverage_start=COVERAGE[0],
        coverage_end=COVERAGE[1]), ADMIN)
    say(f"Opened {result.program_id}: {REGION_NAME} ({REGION_CODE}), {AGREEMENT_REF}; quota "
        f"{CANDIDATES:,}; APBD {_rupiah(apbd)} (11 months) and CSR {_rupiah(CSR_IDR)} (a "
        f"mining company's pledge, for {CSR_PERIOD}); coverage {COVERAGE[0]}..{COVERAGE[1]}.")
    submitted = import_candidates(system, result.program_id, candidates, ADMIN,
                                  rejections_path=demo_dir / "candidates-rejections.csv")
    verified = import_registry(system, result.program_id, registry, ADMIN,
                               rejections_path=demo_dir / "registry-rejections.csv")
    kpj = demo_dir / "kpj.csv"
    demo_data.write_kpj_assignments(kpj, matched_niks(system, result.program_id),
                                    seed=seed + 7109)
    enrolled = import_kpj(system, result.program_id, kpj, ADMIN, coverage_start=COVERAGE[0],
                          batch=BATCH, rejections_path=demo_dir / "kpj-rejections.csv")
    result.enrolled = enrolled.enrolled
    over_age = all(r.field == "birth_date" for r in enrolled.rejections)
    say(f"Carried over 2023's members: {submitted.rows:,} rows from the villages, "
        f"{submitted.rejected:,} refused; {verified.matched:,} matched again against "
        f"Disdukcapil, {verified.mismatched:,} not; {enrolled.enrolled:,} enrolled from "
        f"{COVERAGE[0]} with their KPJ (batch {BATCH}), {enrolled.rejected:,} refused"
        f"{' (over the age cap)' if over_age and enrolled.rejected else ''}.")


def matched_niks(system: System, program_id: str) -> list[str]:
    """The NIKs of a program's matched participants, for the BPJS TK KPJ file the demo
    makes up (the read model holds them sealed)."""
    niks: list[str] = []
    after = None
    while page := views.participants(system.storage.db, program_id, status="matched",
                                     after=after, limit=1000):
        niks += [system.keyring.unseal(row["nik_sealed"]) for row in page]
        after = page[-1]["participant_id"]
    return niks


# The year, in date order.


@dataclass(frozen=True)
class Death:
    """A death (not from work) and how its claim went; the heir's name by the deceased's
    sex (a widow for a man)."""

    occupations: tuple[str, ...]
    sex: str
    died_on: date
    circumstances: str
    reported_on: date
    heir_relation: str
    heir_names: tuple[str, str]
    """For a deceased man, for a deceased woman."""
    last_document: str
    """The document that arrives last and starts the clock, on ``complete_on``."""
    complete_on: date
    paid_on: date
    handed_over_on: date
    why_due: str


DEATHS = (
    Death(occupations=("Petani", "Buruh Tani"), sex="L", died_on=date(2024, 3, 24),
          circumstances="stroke at home on a Sunday", reported_on=date(2024, 3, 25),
          heir_relation="spouse", heir_names=("Meiske Rumondor", "Johny Rumondor"),
          last_document="heir_certificate", complete_on=date(2024, 3, 27),
          paid_on=date(2024, 4, 2), handed_over_on=date(2024, 4, 5),
          why_due="Good Friday, 29 March, moves it"),
    Death(occupations=("Pedagang Kaki Lima", "Buruh Cuci"), sex="P", died_on=date(2024, 9, 9),
          circumstances="dengue fever, died at the RSUD in Ratahan",
          reported_on=date(2024, 9, 10), heir_relation="child",
          heir_names=("Rivaldo Lumingkewas", "Rivaldo Lumingkewas"),
          last_document="death_certificate", complete_on=date(2024, 9, 12),
          paid_on=date(2024, 9, 18), handed_over_on=date(2024, 9, 27),
          why_due="Maulid Nabi, 16 September, moves it"),
    Death(occupations=("Kuli Angkut Pasar", "Buruh Bangunan"), sex="L",
          died_on=date(2024, 11, 22), circumstances="heart attack at home",
          reported_on=date(2024, 11, 25), heir_relation="spouse",
          heir_names=("Jeane Pangemanan", "Hendrik Pangemanan"),
          last_document="savings_book", complete_on=date(2024, 11, 26),
          paid_on=date(2024, 11, 29), handed_over_on=date(2024, 12, 6),
          why_due="the regional election day, 27 November, moves it"),
)


class _Year:
    def __init__(self, system: System, result: ClaimsResult, say: Say) -> None:
        self.system, self.result, self.say = system, result, say
        self.program_id = result.program_id
        self.people = self._enrolled()
        self.used: set[str] = set()
        self.bills: dict[str, Bill] = {}
        self.transfers = 0

    def run(self) -> None:
        """Take every story's steps in the order of their business days (ties: story order),
        so the log reads as the year happened."""
        stories: list[Story] = [self._bills()]
        stories += [self._death(number, death) for number, death in enumerate(DEATHS, 1)]
        stories += [self._traffic_accident(), self._unpaid_month_accident(),
                    self._fall_on_site()]
        queue: list[tuple[date, int, Story]] = []
        for order, story in enumerate(stories):
            heapq.heappush(queue, (next(story), order, story))
        while queue:
            day, order, story = heapq.heappop(queue)
            following = next(story, None)
            if following is not None:
                assert following >= day, "a story's steps go forward in time"
                heapq.heappush(queue, (following, order, story))

    # Bills

    def _bills(self) -> Story:
        for period in periods.between(periods.of(COVERAGE[0]), periods.of(COVERAGE[1])):
            yield periods.first_day(period)
            source = "CSR" if period == CSR_PERIOD else "APBD"
            bill = self.bills[period] = self.system.contributions.generate_bill(
                self.program_id, GenerateBill(period=period, funding_source=source), FINANCE)
            paid_on = periods.day_in(period, PAY_DAY)
            while not service_levels.is_working_day(paid_on):  # no SP2D on a holiday
                paid_on += timedelta(days=1)
            yield paid_on
            lines = bill.issued.lines
            note = f"  {period}: billed {len(lines):,} lines, {_rupiah(bill.billed_idr)}"
            if period == HELD_BACK_PERIOD:
                paid = sum(line.amount_idr for line in lines[:-HELD_BACK])
                self.result.held_back = [line.participant_id for line in lines[-HELD_BACK:]]
                window = periods.last_day(periods.shift(period, 3))
                self.say(f"{note}; paid {paid_on} for all but the last {HELD_BACK}, held back "
                         f"'pending data validation' (their arrears window closes {window})")
            else:
                paid = bill.billed_idr
                self.say(f"{note}; paid {paid_on} from {'the ' if source == 'APBD' else ''}"
                         f"{source}")
            self.system.contributions.record_payment(
                self.program_id, bill.issued.bill_id, RecordPayment(
                    payment_ref=f"SP2D/7109/{period}", paid_on=paid_on, amount_idr=paid),
                FINANCE)

    # Deaths (JKM), paid on time

    def _death(self, number: int, death: Death) -> Story:
        person = self._pick(death.occupations, death.sex)
        heir = death.heir_names[0 if person["sex"] == "L" else 1]
        yield death.reported_on
        claim = self.system.claims.report(self.program_id, UUID(person["participant_id"]),
                                          ReportClaim(
            benefit="JKM", incident_date=death.died_on, reported_on=death.reported_on,
            reporter_name=heir, reporter_relation=death.heir_relation,
            circumstances=death.circumstances), OFFICER)
        claim_id = claim.reported.claim_id
        self.result.died.append(person["participant_id"])
        self.result.death_claims.append(claim_id)
        self._heir(claim_id, heir, death.heir_relation, death.reported_on)
        self._documents(claim_id, death.reported_on, later=(death.last_document,))
        yield death.complete_on
        self._documents(claim_id, death.complete_on)
        self._assess_and_approve(claim_id, death.complete_on, AssessClaim(
            assessed_on=death.complete_on))
        yield death.paid_on
        paid = self._pay(claim_id, heir, death.heir_relation, death.paid_on)
        yield death.handed_over_on
        self.system.claims.close(self.program_id, claim_id, CloseClaim(
            closed_on=death.handed_over_on, note=f"handed over symbolically by the Bupati at "
            f"the regency office in Ratahan on {death.handed_over_on}"), OFFICER)
        self.say(f"  {periods.of(death.handed_over_on)}: {claim_id} (JKM) closed: {_who(person)} "
                 f"died {death.died_on} ({death.circumstances}); documents complete "
                 f"{death.complete_on}, due {paid.due_on} ({death.why_due}); "
                 f"{_rupiah(paid.benefit_paid_idr)} paid to the heir ({death.heir_relation}) "
                 f"{death.paid_on}: on time; handed over by the Bupati {death.handed_over_on}")

    # Accidents (JKK)

    def _traffic_accident(self) -> Story:
        """An ojek driver hit on the road with a passenger: paid eight days late."""
        person = self._pick(("Pengemudi Ojek", "Pengemudi Bentor"), "L")
        claim_id = "JKK-7109-2024-001"
        yield date(2024, 5, 28)
        self._report_accident(person, claim_id, date(2024, 5, 27), date(2024, 5, 28),
                              "hit by a pickup on the Ratahan-Belang road while carrying a "
                              "passenger; broken forearm", traffic=True)
        self._documents(claim_id, date(2024, 5, 28), later=(*AFTER_TREATMENT, "police_report"))
        yield date(2024, 6, 7)
        self._documents(claim_id, date(2024, 6, 7), later=("police_report",))
        yield date(2024, 6, 10)
        self._documents(claim_id, date(2024, 6, 10))  # the Polres report completes the file
        yield date(2024, 6, 11)
        self._assess_and_approve(claim_id, date(2024, 6, 11), AssessClaim(
            assessed_on=date(2024, 6, 11), outcome="temporary_incapacity",
            medical_cost_idr=3_250_000, transport=[TransportCost(mode="land", cost_idr=400_000)],
            incapacity_months=2))
        yield date(2024, 6, 28)
        paid = self._pay(claim_id, person["full_name"], "self", date(2024, 6, 28))
        penalty = paid.penalty_due_idr()
        yield date(2024, 7, 5)
        self.transfers += 1
        self.system.claims.pay(self.program_id, claim_id, RecordPayout(
            payout_ref=f"TRF/7109/2024/{self.transfers:04d}", payee_name=person["full_name"],
            relation="self", component=LATE_PENALTY, amount_idr=penalty,
            paid_on=date(2024, 7, 5)), OFFICER)
        self.system.claims.close(self.program_id, claim_id, CloseClaim(
            closed_on=date(2024, 7, 5), note="benefit and late penalty paid"), OFFICER)
        self.result.late_claim, self.result.late_penalty_idr = claim_id, penalty
        days = (date(2024, 6, 28) - paid.due_on).days
        self.say(f"  2024-07: {claim_id} (JKK) closed: {_who(person)} hit on the road with a "
                 f"passenger 2024-05-27; the police report completes the file "
                 f"2024-06-10, due {paid.due_on} (Idul Adha, 17 June, moves it); "
                 f"{_rupiah(paid.benefit_paid_idr)} paid 2024-06-28, {days} days late: "
                 f"penalty {_rupiah(penalty)} (1% a day) paid on its own 2024-07-05")

    def _unpaid_month_accident(self) -> Story:
        """A farmer whose July the SP2D held back: rejected for the unpaid month."""
        yield date(2024, 7, 23)
        held = [p for p in self.people if p["participant_id"] in self.result.held_back]
        person = next((p for p in held if p["occupation"] in ("Petani", "Buruh Tani")
                       and p["sex"] == "L"), held[0])
        self.used.add(person["participant_id"])
        claim_id = "JKK-7109-2024-002"
        self._report_accident(person, claim_id, date(2024, 7, 22), date(2024, 7, 23),
                              "cut by a machete while clearing a clove garden")
        self._documents(claim_id, date(2024, 7, 23), later=AFTER_TREATMENT)
        yield date(2024, 7, 29)
        self._documents(claim_id, date(2024, 7, 29))
        yield date(2024, 8, 5)
        assessed = self.system.claims.assess(self.program_id, claim_id, AssessClaim(
            assessed_on=date(2024, 8, 5), medical_cost_idr=850_000), OFFICER).assessment
        yield date(2024, 8, 6)
        window = periods.last_day(periods.shift(HELD_BACK_PERIOD, 3))
        self.system.claims.reject(self.program_id, claim_id, RejectClaim(
            rejected_on=date(2024, 8, 6), reason_code=assessed.failed_rule,
            detail=f"{assessed.detail}: the SP2D of {HELD_BACK_PERIOD} left him out pending "
                   f"data validation; pay the arrears by {window} and reopen the claim"),
            OFFICER)
        self.result.rejected_claim = claim_id
        self.say(f"  2024-08: {claim_id} (JKK) rejected: {_who(person)}, one of the {HELD_BACK} "
                 f"whose July was held back, cut by a machete 2024-07-22; rejected 2024-08-06: "
                 f"{assessed.failed_rule} {assessed.failed_month} ({assessed.detail}); "
                 f"nobody paid the arrears by {window}")

    def _fall_on_site(self) -> Story:
        """A construction labourer's fall, treated and paid inside seven working days."""
        person = self._pick(("Buruh Bangunan", "Buruh Tani"), "L")
        claim_id = "JKK-7109-2024-003"
        yield date(2024, 10, 8)
        self._report_accident(person, claim_id, date(2024, 10, 7), date(2024, 10, 8),
                              "fell from a scaffold building a house in Tombatu; sprained "
                              "ankle")
        self._documents(claim_id, date(2024, 10, 8), later=AFTER_TREATMENT)
        yield date(2024, 10, 14)
        self._documents(claim_id, date(2024, 10, 14))
        self._assess_and_approve(claim_id, date(2024, 10, 14), AssessClaim(
            assessed_on=date(2024, 10, 14), medical_cost_idr=1_150_000,
            transport=[TransportCost(mode="land", cost_idr=250_000)]))
        yield date(2024, 10, 18)
        paid = self._pay(claim_id, person["full_name"], "self", date(2024, 10, 18))
        yield date(2024, 10, 21)
        self.system.claims.close(self.program_id, claim_id,
                                 CloseClaim(closed_on=date(2024, 10, 21)), OFFICER)
        self.result.on_time_claim = claim_id
        self.say(f"  2024-10: {claim_id} (JKK) closed: {_who(person)} fell from a scaffold "
                 f"2024-10-07; documents complete 2024-10-14, due {paid.due_on}; "
                 f"{_rupiah(paid.benefit_paid_idr)} paid 2024-10-18: on time")

    # Steps the stories share

    def _report_accident(self, person: dict, claim_id: str, incident: date, reported: date,
                         circumstances: str, *, traffic: bool = False) -> None:
        self.system.claims.report(self.program_id, UUID(person["participant_id"]), ReportClaim(
            benefit="JKK", incident_date=incident, reported_on=reported,
            reporter_name=person["full_name"], reporter_relation="self",
            circumstances=circumstances, traffic_accident=traffic, claim_id=claim_id), OFFICER)

    def _heir(self, claim_id: str, name: str, relation: str, day: date) -> None:
        self.system.claims.record_heir(self.program_id, claim_id, RecordHeir(
            name=name, relation=relation, recorded_on=day,
            evidence="family card (KK) and the Hukum Tua's heir certificate"), OFFICER)

    def _documents(self, claim_id: str, day: date, *, later: tuple[str, ...] = ()) -> None:
        """Every document still missing arrives on ``day``, but those that come ``later``."""
        for document in self.system.claims.claim(self.program_id, claim_id).missing_documents:
            if document not in later:
                self.system.claims.receive_document(self.program_id, claim_id, ReceiveDocument(
                    document=document, received_on=day,
                    reference=f"{claim_id}/{document}"), OFFICER)

    def _assess_and_approve(self, claim_id: str, day: date, command: AssessClaim) -> None:
        assessed = self.system.claims.assess(self.program_id, claim_id, command, OFFICER)
        assert assessed.assessment.eligible, assessed.assessment.detail
        self.system.claims.approve(self.program_id, claim_id, ApproveClaim(approved_on=day),
                                   OFFICER)

    def _pay(self, claim_id: str, payee: str, relation: str, day: date) -> Claim:
        """Every approved benefit line as its own transfer."""
        claim = self.system.claims.claim(self.program_id, claim_id)
        for line in claim.assessment.lines:
            self.transfers += 1
            claim = self.system.claims.pay(self.program_id, claim_id, RecordPayout(
                payout_ref=f"TRF/7109/2024/{self.transfers:04d}", payee_name=payee,
                relation=relation, component=line.component, amount_idr=line.amount_idr,
                paid_on=day), OFFICER)
        return claim

    # The cast

    def _enrolled(self) -> list[dict]:
        people: list[dict] = []
        after = None
        while page := views.participants(self.system.storage.db, self.program_id,
                                         status="enrolled", after=after, limit=1000):
            people += [{**row, "full_name": self.system.keyring.unseal(row["full_name_sealed"])}
                       for row in page]
            after = page[-1]["participant_id"]
        return people

    def _pick(self, occupations: tuple[str, ...], sex: str) -> dict:
        """The first member (by id) of the first of these occupations that has one of this
        sex not cast yet; the last people of the roster are left alone, they are July's
        held-back lines."""
        free = [p for p in self.people[:-2 * HELD_BACK] if p["participant_id"] not in self.used]
        fits = ([p for p in free if (p["occupation"], p["sex"]) == (occupation, sex)]
                for occupation in occupations)
        person = next((found[0] for found in fits if found), None) or next(
            (p for p in free if p["sex"] == sex), free[0])
        self.used.add(person["participant_id"])
        return person


OCCUPATIONS_EN = {
    "Petani": "farmer", "Buruh Tani": "farm labourer", "Pedagang Kaki Lima": "street vendor",
    "Pengemudi Ojek": "ojek driver", "Pengemudi Bentor": "bentor driver",
    "Buruh Bangunan": "construction labourer", "Kuli Angkut Pasar": "market porter",
    "Nelayan Danau": "lake fisher", "Buruh Cuci": "laundry worker",
    "Pelaku Usaha Mikro Miskin Ekstrem": "micro-business owner in extreme poverty",
}


def _who(person: dict) -> str:
    """"a farmer (man, Kelurahan 12)": enough to follow the story, no name or NIK."""
    occupation = OCCUPATIONS_EN.get(person["occupation"], person["occupation"])
    sex = "man" if person["sex"] == "L" else "woman"
    article = "an" if occupation[0] in "aeiou" else "a"
    return f"{article} {occupation} ({sex}, {person['village']})"


def _year_end(system: System, result: ClaimsResult) -> str:
    system.projections.catch_up()
    with system.storage.db.snapshot() as tx:
        budget = budget_summary(tx, result.program_id, YEAR_END)
    paid = ", ".join(f"{line.funding_source} {_rupiah(line.paid_idr)}"
                     for line in budget.funding if line.paid_idr)
    return (f"  year end: paid {paid}; {_rupiah(budget.billed_unpaid_idr)} billed and never "
            f"paid: {HELD_BACK_PERIOD} for the {len(result.held_back)} held back, a gap in "
            f"their cover")


def _rupiah(amount_idr: int) -> str:
    return "Rp" + f"{amount_idr:,}".replace(",", ".")
