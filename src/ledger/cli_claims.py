"""``ledger claim`` and ``ledger report claims``: a death or an accident from first report to
payout as a claims officer records it, one claim's timeline, and the program's claims report.

Each step prints the claim as it stands after it: status, documents still missing,
the assessment's benefit lines, money approved and paid, and the service level.
"""

import argparse
import uuid
from collections.abc import Callable
from typing import get_args

from ledger import demo
from ledger.benefits import Child, SchoolLevel, TransportCost, TransportMode
from ledger.claim import (
    ApproveClaim,
    AssessClaim,
    Claim,
    CloseClaim,
    ReceiveDocument,
    RecordHeir,
    RecordPayout,
    RejectClaim,
    ReopenClaim,
    ReportClaim,
)
from ledger.cli_common import (
    actor,
    add_report_options,
    day,
    report_command,
    where,
    write_report,
)
from ledger.events import Benefit
from ledger.heirs import Relation
from ledger.settings import Settings
from ledger.system import System, open_system
from projections import report_files

JKK_OUTCOMES = ("treatment", "temporary_incapacity", "total_disability")


def claim_report(settings: Settings, args: argparse.Namespace) -> None:
    command = ReportClaim(
        benefit=args.benefit, incident_date=args.incident_date, reported_on=args.reported_on,
        reporter_name=args.reporter_name, reporter_relation=args.reporter_relation,
        circumstances=args.circumstances, fatal=args.fatal, work_related=args.work_related,
        traffic_accident=args.traffic, claim_id=args.claim_id)
    _record(settings, args.program, lambda system: system.claims.report(
        args.program, args.participant, command, actor()))


def claim_step(settings: Settings, args: argparse.Namespace) -> None:
    """One step on an existing claim: ``args.step`` names the service method, ``args.build``
    makes its command from the options."""
    _record(settings, args.program, lambda system: getattr(system.claims, args.step)(
        args.program, args.claim, args.build(args), actor()))


def claim_show(settings: Settings, args: argparse.Namespace) -> None:
    where(settings)
    with open_system(settings) as system:
        report = report_files.timeline_report(system, args.program, args.claim, args.as_of,
                                              args.position)
    write_report(args, report_files.timeline_title(report),
                 report_files.timeline_sections(report))


def _record(settings: Settings, program_id: str, run: Callable[[System], Claim]) -> None:
    where(settings)
    with open_system(settings) as system:
        system.ledger.program(program_id)  # an unknown program is named as such
        state = run(system)
        line = report_files.timeline_report(system, program_id,
                                            state.reported.claim_id).timeline.claim
    print(describe_claim(state, line.sla_status, line.days_late, line.penalty_idr))


def describe_claim(state: Claim, sla_status: str, days_late: int, penalty_idr: int) -> str:
    reported, assessment = state.reported, state.assessment
    kind = "death" if reported.fatal else "accident"
    lines = [f"claim {reported.claim_id} ({reported.benefit} {kind} on "
             f"{reported.incident_date}, participant {reported.participant_id}): "
             f"{state.status}",
             f"documents missing: {', '.join(state.missing_documents) or 'none'}"
             + (f"; complete {state.documents_complete_on}, due {state.due_on}"
                if state.due_on else "")]
    if state.heirs:
        lines.append("heirs: " + ", ".join(f"{h.name} ({h.relation})" for h in state.heirs))
    if assessment is not None and not assessment.eligible:
        lines.append(f"assessed {assessment.assessed_on}: ineligible, {assessment.failed_rule}"
                     f" {assessment.failed_month or ''}: {assessment.detail}")
    elif assessment is not None:
        lines.append(f"assessed {assessment.assessed_on}: eligible "
                     f"({assessment.benefit_rule_version})\n" + demo.table(
                         ("component", "amount_idr", "basis"),
                         [(b.component, b.amount_idr, b.basis) for b in assessment.lines]))
    if state.rejected is not None:
        lines.append(f"rejected {state.rejected.rejected_on}: {state.rejected.reason_code}: "
                     f"{state.rejected.detail}")
    approved = state.approved.amount_idr if state.approved else 0
    late = f", {days_late} day(s) late" if days_late else ""
    lines.append(f"approved {demo.rupiah(approved)}, paid {demo.rupiah(state.benefit_paid_idr)},"
                 f" late penalty {demo.rupiah(penalty_idr)}; service level {sla_status}{late}")
    return "\n".join(lines)


# Arguments


def add_parsers(commands: argparse._SubParsersAction,
                reports: argparse._SubParsersAction) -> None:
    claim = commands.add_parser("claim", help="JKM and JKK claims").add_subparsers(
        required=True)
    _report_parser(claim)
    _evidence_parsers(claim)
    _decision_parsers(claim)
    show = claim.add_parser("show", help="one claim's service level and timeline")
    add_report_options(show)
    show.add_argument("--claim", required=True, metavar="ID")
    show.set_defaults(command=claim_show)
    sub = reports.add_parser("claims", help="claims by benefit and status, days to payment, "
                             "service-level breaches")
    add_report_options(sub)
    sub.set_defaults(command=report_command(
        report_files.claims_report, report_files.claims_title, report_files.claims_sections))


def _report_parser(claim: argparse._SubParsersAction) -> None:
    sub = claim.add_parser("report", help="report a death (JKM) or a work accident (JKK)")
    sub.add_argument("--program", required=True, metavar="ID")
    sub.add_argument("--participant", required=True, type=_uuid, metavar="PARTICIPANT_ID")
    sub.add_argument("--benefit", required=True, choices=get_args(Benefit))
    sub.add_argument("--incident-date", required=True, type=day, metavar="YYYY-MM-DD")
    sub.add_argument("--reported-on", required=True, type=day, metavar="YYYY-MM-DD")
    sub.add_argument("--reporter-name", required=True, metavar="NAME")
    sub.add_argument("--reporter-relation", required=True, metavar="RELATION")
    sub.add_argument("--circumstances", required=True, metavar="TEXT")
    sub.add_argument("--fatal", action="store_true", help="JKK: the accident killed them")
    sub.add_argument("--work-related", action="store_true",
                     help="JKM: the death came from a work accident (recorded as JKK)")
    sub.add_argument("--traffic", action="store_true", help="a traffic accident")
    sub.add_argument("--claim-id", metavar="ID",
                     help="a non-fatal JKK claim's number; by default JKK-<incident date>")
    sub.set_defaults(command=claim_report)


def _step(claim: argparse._SubParsersAction, name: str, method: str,
          build: Callable[[argparse.Namespace], object], help_text: str,
          date_option: str) -> argparse.ArgumentParser:
    """A step's parser: --program, --claim and its day; ``build`` makes the command."""
    sub = claim.add_parser(name, help=help_text)
    sub.add_argument("--program", required=True, metavar="ID")
    sub.add_argument("--claim", required=True, metavar="ID")
    sub.add_argument(date_option, required=True, type=day, metavar="YYYY-MM-DD")
    sub.set_defaults(command=claim_step, step=method, build=build)
    return sub


def _evidence_parsers(claim: argparse._SubParsersAction) -> None:
    document = _step(claim, "document", "receive_document", lambda a: ReceiveDocument(
        document=a.document, received_on=a.received_on, reference=a.reference),
        "record a document received", "--received-on")
    document.add_argument("--document", required=True, metavar="CODE",
                          help="e.g. death_certificate (docs/claims.md)")
    document.add_argument("--reference", required=True, help="its number or file")
    heir = _step(claim, "heir", "record_heir", lambda a: RecordHeir(
        name=a.name, relation=a.relation, evidence=a.evidence, recorded_on=a.recorded_on),
        "record an heir of a death claim", "--recorded-on")
    heir.add_argument("--name", required=True)
    heir.add_argument("--relation", required=True, choices=get_args(Relation))
    heir.add_argument("--evidence", required=True, help="e.g. the family card's number")
    assess = _step(claim, "assess", "assess", lambda a: AssessClaim(
        assessed_on=a.assessed_on, outcome=a.outcome, medical_cost_idr=a.medical_cost,
        transport=a.transport, incapacity_months=a.incapacity_months,
        children=[Child(level=level) for level in a.child]),
        "assess eligibility and the benefit lines", "--assessed-on")
    assess.add_argument("--outcome", choices=JKK_OUTCOMES, default="treatment",
                        help="JKK (a death claim is always a death)")
    assess.add_argument("--medical-cost", type=int, default=0, metavar="N", help="whole Rupiah")
    assess.add_argument("--incapacity-months", type=int, default=0, metavar="N")
    assess.add_argument("--transport", type=_transport, action="append", default=[],
                        metavar="MODE:COST", help="land, sea or air and whole Rupiah; repeat")
    assess.add_argument("--child", action="append", default=[], choices=get_args(SchoolLevel),
                        help="a child's school level, for the scholarship; repeat")


def _decision_parsers(claim: argparse._SubParsersAction) -> None:
    _step(claim, "approve", "approve", lambda a: ApproveClaim(
        approved_on=a.approved_on, note=a.note),
        "approve an eligible claim with its documents in", "--approved-on"
        ).add_argument("--note", default="")
    reject = _step(claim, "reject", "reject", lambda a: RejectClaim(
        rejected_on=a.rejected_on, reason_code=a.reason_code, detail=a.detail),
        "reject a claim with a reason code", "--rejected-on")
    reject.add_argument("--reason-code", required=True, metavar="CODE",
                        help="an eligibility rule, documents_invalid, not_work_related, other")
    reject.add_argument("--detail", required=True)
    pay = _step(claim, "pay", "pay", lambda a: RecordPayout(
        payout_ref=a.ref, payee_name=a.payee_name, relation=a.relation,
        component=a.component, amount_idr=a.amount, paid_on=a.paid_on,
        override_reason=a.override_reason), "record a payout to a named payee", "--paid-on")
    pay.add_argument("--ref", required=True, help="the transfer's reference")
    pay.add_argument("--payee-name", required=True, metavar="NAME",
                     help="as the heir was recorded")
    pay.add_argument("--relation", required=True, choices=get_args(Relation))
    pay.add_argument("--component", required=True,
                     help="a benefit line of the assessment, or late_penalty")
    pay.add_argument("--amount", type=int, required=True, metavar="N", help="whole Rupiah")
    pay.add_argument("--override-reason", metavar="TEXT",
                     help="why a payee lower in the heirs' order is paid")
    _step(claim, "close", "close", lambda a: CloseClaim(closed_on=a.closed_on, note=a.note),
          "close a rejected or fully paid claim", "--closed-on").add_argument("--note",
                                                                               default="")
    _step(claim, "reopen", "reopen", lambda a: ReopenClaim(
        reopened_on=a.reopened_on, reason=a.reason),
        "reopen a closed or rejected claim", "--reopened-on").add_argument("--reason",
                                                                            required=True)


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a participant id (a UUID)") from None


def _transport(text: str) -> TransportCost:
    mode, _, cost = text.partition(":")
    if mode not in get_args(TransportMode) or not cost.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not MODE:COST with MODE one of "
                                         f"{', '.join(get_args(TransportMode))}")
    return TransportCost(mode=mode, cost_idr=int(cost))
