"""Which months of a membership are covered, in arrears, lost or lapsed, as of a day.

Coverage follows payment, not registration (DOMAIN.md). For each month of a
membership, given the day each month was first paid and the day we stand on:

    paid          paid by its due day (the 15th), or earlier (advance)
    paid_late     paid after the due day but within the arrears window: still covered,
                  continuity restored (a delayed APBD disbursement is the usual case)
    due           not paid yet, and the due day has not passed
    arrears       not paid, past due, still within the arrears window
    gap           not paid, and the window closed: lost for good
    paid_too_late paid after the window closed: not covered, a refund due to the payer
    lapsed        the membership had ended (see below) before this month
    after_end     after the month of death or termination (paid months are refunds due)

Lapse: when more than ``lapse_after_unpaid_months`` consecutive months are unpaid,
the membership ends from the first of them, and the person must be re-enrolled.
It happens on the first day on which both the first month's arrears window has
closed and the last month of the run is past due, counting only payments made
before that day: so a late payment inside the window still saves the membership,
and a payment after it does not bring it back.

The windows are data, in a versioned table, like the tariffs.
"""

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Literal, NamedTuple

import msgspec

from ledger import periods
from ledger.periods import Period

MonthStatus = Literal["paid", "paid_late", "due", "arrears", "gap", "paid_too_late",
                      "lapsed", "after_end"]
COVERED: frozenset[str] = frozenset({"paid", "paid_late"})


class CoverageRules(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    effective_from: Period
    due_day: int
    """Day of the month by which its contribution is due (no late fine for BPU)."""
    arrears_window_months: int
    """Months after a month's end in which its arrears can still be paid."""
    lapse_after_unpaid_months: int
    """More consecutive unpaid months than this end the membership."""


COVERAGE_RULES: tuple[CoverageRules, ...] = (
    CoverageRules(version="coverage/2015-07", effective_from="2015-07", due_day=15,
                  arrears_window_months=3, lapse_after_unpaid_months=3),
)


def rules_in_force(period: Period) -> CoverageRules:
    in_force = [r for r in COVERAGE_RULES if r.effective_from <= period] or [COVERAGE_RULES[0]]
    return max(in_force, key=lambda r: r.effective_from)


class Membership(NamedTuple):
    first_period: Period
    """The month coverage starts (the enrollment's coverage start)."""
    last_period: Period
    """The program's last month, or the month of death/termination when earlier."""


class MonthCoverage(NamedTuple):
    period: Period
    status: MonthStatus
    paid_on: date | None

    @property
    def covered(self) -> bool:
        return self.status in COVERED


class Coverage(NamedTuple):
    months: list[MonthCoverage]
    lapsed_from: Period | None
    lapsed_on: date | None

    def month(self, period: Period) -> MonthCoverage | None:
        return next((m for m in self.months if m.period == period), None)

    @property
    def refunds_due(self) -> list[MonthCoverage]:
        """Months paid that bought no cover: after the end, after a lapse, or too late."""
        return [m for m in self.months if m.paid_on is not None and not m.covered]


def due_date(period: Period, rules: CoverageRules) -> date:
    return periods.day_in(period, rules.due_day)


def window_end(period: Period, rules: CoverageRules) -> date:
    return periods.last_day(periods.shift(period, rules.arrears_window_months))


def coverage(membership: Membership, paid: Mapping[Period, date], as_of: date,
             rules: CoverageRules, *, beyond: Period | None = None) -> Coverage:
    """Coverage of every month from the membership's first month to the month of
    ``as_of`` (or its last month, when earlier), plus any later month already paid
    (advance) and paid months after the end up to ``beyond``. ``paid`` maps a month to
    the day it was first paid."""
    first, last = membership.first_period, membership.last_period
    now = periods.of(as_of)
    paid = {p: day for p, day in paid.items() if day <= as_of}
    lapsed_from, lapsed_on = _lapse(first, last, paid, as_of, rules)
    shown = periods.between(first, min(now, last))
    shown += [p for p in sorted(paid) if p not in shown and first <= p <= (beyond or last)]
    months = []
    for period in sorted(shown):
        paid_on = paid.get(period)
        if period > last:
            status = "after_end"
        elif lapsed_from is not None and period >= lapsed_from:
            status = "lapsed"
        else:
            status = _status(period, paid_on, as_of, rules)
        months.append(MonthCoverage(period, status, paid_on))
    return Coverage(months, lapsed_from, lapsed_on)


def _status(period: Period, paid_on: date | None, as_of: date,
            rules: CoverageRules) -> MonthStatus:
    due, closes = due_date(period, rules), window_end(period, rules)
    if paid_on is not None:
        if paid_on <= due:
            return "paid"
        return "paid_late" if paid_on <= closes else "paid_too_late"
    if as_of <= due:
        return "due"
    return "arrears" if as_of <= closes else "gap"


def _lapse(first: Period, last: Period, paid: Mapping[Period, date], as_of: date,
           rules: CoverageRules) -> tuple[Period | None, date | None]:
    run = rules.lapse_after_unpaid_months + 1
    for start in periods.between(first, periods.shift(last, 1 - run)):
        end = periods.shift(start, run - 1)
        lapses_on = max(window_end(start, rules), due_date(end, rules)) + timedelta(days=1)
        if lapses_on > as_of:
            return None, None
        months = periods.span(start, run)
        if all(paid.get(p) is None or paid[p] >= lapses_on for p in months):
            return start, lapses_on
    return None, None
