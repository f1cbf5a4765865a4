"""Contribution months ("periods"), written ``YYYY-MM`` everywhere: in events, files and URLs.

A string rather than a date so that a month never pretends to be a day, and so
that periods sort and compare as text the same way on both databases.
"""

import calendar
import re
from datetime import date

from ledger.errors import InvalidInput

Period = str
_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse(value: str, field: str = "period") -> Period:
    """The period itself when well formed; a clear refusal naming ``field`` when not."""
    if not isinstance(value, str) or not _PATTERN.match(value.strip()):
        raise InvalidInput(f"{field} must be a month written YYYY-MM, e.g. 2024-03, "
                           f"not {value!r}", field=field)
    return value.strip()


def of(day: date) -> Period:
    return f"{day.year:04d}-{day.month:02d}"


def shift(period: Period, months: int) -> Period:
    index = _index(period) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def span(first: Period, months: int) -> list[Period]:
    return [shift(first, n) for n in range(months)]


def between(first: Period, last: Period) -> list[Period]:
    """Every period from ``first`` to ``last``, both included (empty when last < first)."""
    return span(first, _index(last) - _index(first) + 1)


def months_from(first: Period, last: Period) -> int:
    """How many months ``last`` is after ``first`` (negative when before)."""
    return _index(last) - _index(first)


def first_day(period: Period) -> date:
    year, month = _year_month(period)
    return date(year, month, 1)


def last_day(period: Period) -> date:
    year, month = _year_month(period)
    return date(year, month, calendar.monthrange(year, month)[1])


def day_in(period: Period, day: int) -> date:
    """Day ``day`` of the month, or its last day in a shorter month."""
    year, month = _year_month(period)
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _year_month(period: Period) -> tuple[int, int]:
    return int(period[:4]), int(period[5:7])


def _index(period: Period) -> int:
    year, month = _year_month(period)
    return year * 12 + month - 1
