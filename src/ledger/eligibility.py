"""Was the person covered on the day of the incident? Decided from the ledger's own history.

The rules are checked in this order and the first that fails names itself and
the month concerned, so a rejection says exactly what to fix (often: pay the
month's arrears inside its window, then reopen the claim):

    not_enrolled                 never enrolled in the program
    before_enrollment            the incident came before coverage started
    terminated_before_incident   the membership was terminated before the incident
    lapsed_before_incident       the membership had lapsed for unpaid months
    outside_program_window       the incident is after the program's coverage window
    month_not_covered            the incident's month was not paid, or paid too late
    jkk_rights_expired           a JKK claim reported more than 5 years after the accident

Coverage is judged as of the assessment day, so arrears paid late but inside the
window count (``ledger.coverage``).
"""

from collections.abc import Mapping
from datetime import date
from typing import NamedTuple

from ledger import coverage, periods
from ledger.benefits import BenefitRules
from ledger.periods import Period

RULES = ("not_enrolled", "before_enrollment", "terminated_before_incident",
         "lapsed_before_incident", "outside_program_window", "month_not_covered",
         "jkk_rights_expired")


class Member(NamedTuple):
    """The participant's membership as the ledger knows it."""

    coverage_start: date | None
    terminated_on: date | None
    lapsed_from: Period | None
    program_last: Period
    """The last month of the program's coverage window."""


class Verdict(NamedTuple):
    eligible: bool
    rule: str | None
    month: Period | None
    detail: str
    contribution_months: int
    """Covered months up to and including the incident's month."""
    coverage_rule_version: str


def assess(benefit: str, incident_date: date, reported_on: date, member: Member,
           paid: Mapping[Period, date], as_of: date, rules: BenefitRules) -> Verdict:
    month = periods.of(incident_date)
    cover_rules = coverage.rules_in_force(month)

    def refused(rule: str, failed: Period | None, detail: str, counted: int = 0) -> Verdict:
        return Verdict(False, rule, failed, detail, counted, cover_rules.version)

    if member.coverage_start is None:
        return refused("not_enrolled", None, "the participant was never enrolled")
    if incident_date < member.coverage_start:
        return refused("before_enrollment", month,
                       f"the incident ({incident_date}) is before coverage started "
                       f"({member.coverage_start})")
    if member.terminated_on is not None and member.terminated_on < incident_date:
        return refused("terminated_before_incident", periods.of(member.terminated_on),
                       f"the membership was terminated on {member.terminated_on}")
    if member.lapsed_from is not None and member.lapsed_from <= month:
        return refused("lapsed_before_incident", member.lapsed_from,
                       f"the membership lapsed from {member.lapsed_from} for unpaid months")
    if month > member.program_last:
        return refused("outside_program_window", month,
                       f"the program's coverage window ended with {member.program_last}")
    first = periods.of(member.coverage_start)
    found = coverage.coverage(coverage.Membership(first, member.program_last), paid, as_of,
                              cover_rules)
    counted = sum(1 for m in found.months if m.covered and m.period <= month)
    status = found.month(month)
    if status is None or not status.covered:
        state = status.status if status else "unpaid"
        detail = f"{month} was not covered on {as_of}: {state}"
        if state == "due":  # not late yet: the verdict can change once the month is paid
            detail += (f"; its contribution is due by {coverage.due_date(month, cover_rules)}, "
                       f"assess again once it is paid")
        return refused("month_not_covered", month, detail, counted)
    expires = _years_after(incident_date, rules.jkk_rights_years)
    if benefit == "JKK" and reported_on > expires:
        return refused("jkk_rights_expired", month,
                       f"JKK rights expired on {expires}, {rules.jkk_rights_years} years after "
                       f"the accident", counted)
    return Verdict(True, None, None, f"{month} covered ({status.status})", counted,
                   cover_rules.version)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)
