"""Claim service levels: working-day clocks and the penalty for paying a JKK claim late.

Working days skip Saturdays, Sundays and Indonesia's public holidays, taken
from the maintained ``holidays`` package (national holidays, including the
lunar-calendar ones that move every year) rather than a list we would have to
keep. BPJS TK owes JKM within 3 working days and JKK within 7 working days of
the documents being complete, and 1% of the JKK benefit for every day of delay.
Those figures are data in ``benefits.BENEFIT_RULES``.
"""

from datetime import date, timedelta
from functools import cache

import holidays


@cache
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("ID", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself does not count)."""
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def days_late(due_on: date, paid_on: date) -> int:
    """Calendar days a payment came after its due day (0 when on time)."""
    return max(0, (paid_on - due_on).days)


def late_penalty_idr(amount_idr: int, days: int, percent_per_day: int) -> int:
    """``percent_per_day`` of ``amount_idr`` for each day late, rounded down to the Rupiah."""
    return amount_idr * percent_per_day * days // 100
