from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import periods
from ledger.errors import InvalidInput

a_period = st.builds(lambda year, month: f"{year:04d}-{month:02d}",
                     st.integers(2000, 2100), st.integers(1, 12))


def test_the_month_after_december_is_january_of_the_next_year():
    assert periods.shift("2024-12", 1) == "2025-01"


def test_the_month_before_january_is_december_of_the_year_before():
    assert periods.shift("2025-01", -1) == "2024-12"


def test_twelve_months_on_is_the_same_month_a_year_later():
    assert periods.shift("2024-11", 12) == "2025-11"
    assert periods.shift("2024-11", -24) == "2022-11"


def test_shifting_by_nothing_is_the_same_month():
    assert periods.shift("2024-07", 0) == "2024-07"


def test_an_advance_of_twelve_months_paid_in_autumn_runs_into_the_next_year():
    assert periods.span("2024-11", 12) == [
        "2024-11", "2024-12", "2025-01", "2025-02", "2025-03", "2025-04",
        "2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10"]


def test_between_includes_both_ends_across_a_year_end():
    assert periods.between("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]


def test_between_a_month_and_itself_is_that_month():
    assert periods.between("2024-03", "2024-03") == ["2024-03"]


def test_between_is_empty_when_the_last_month_is_before_the_first():
    assert periods.between("2024-03", "2024-02") == []


def test_months_from_counts_forward_and_backward_across_years():
    assert periods.months_from("2024-11", "2025-02") == 3
    assert periods.months_from("2025-02", "2024-11") == -3
    assert periods.months_from("2024-05", "2024-05") == 0


def test_of_a_day_is_its_month():
    assert periods.of(date(2024, 2, 29)) == "2024-02"
    assert periods.of(date(2025, 12, 31)) == "2025-12"


def test_february_of_a_leap_year_ends_on_the_29th():
    assert periods.last_day("2024-02") == date(2024, 2, 29)


def test_february_of_a_common_year_ends_on_the_28th():
    assert periods.last_day("2025-02") == date(2025, 2, 28)
    assert periods.last_day("2100-02") == date(2100, 2, 28)  # a century, not a leap year


def test_the_last_day_of_december_and_of_a_thirty_day_month():
    assert periods.last_day("2024-12") == date(2024, 12, 31)
    assert periods.last_day("2024-04") == date(2024, 4, 30)


def test_first_day_is_the_first():
    assert periods.first_day("2024-02") == date(2024, 2, 1)


@pytest.mark.parametrize(("period", "day", "expected"), [
    ("2024-02", 30, date(2024, 2, 29)),
    ("2025-02", 30, date(2025, 2, 28)),
    ("2024-04", 31, date(2024, 4, 30)),
    ("2024-03", 31, date(2024, 3, 31)),
    ("2024-02", 15, date(2024, 2, 15)),
])
def test_day_in_clamps_to_the_last_day_of_a_shorter_month(period, day, expected):
    assert periods.day_in(period, day) == expected


@pytest.mark.parametrize("written", ["2024-3", "2024-13", "2024-00", "24-03", "2024/03",
                                     "2024-03-01", "", "Maret 2024"])
def test_parse_refuses_what_is_not_a_month_naming_the_field(written):
    with pytest.raises(InvalidInput) as refused:
        periods.parse(written, "coverage_month")
    assert refused.value.field == "coverage_month"
    assert repr(written) in refused.value.detail


def test_parse_refuses_a_non_text_value_and_names_period_by_default():
    with pytest.raises(InvalidInput) as refused:
        periods.parse(202403)  # type: ignore[arg-type]
    assert refused.value.field == "period"


def test_parse_returns_a_well_formed_month_without_surrounding_spaces():
    assert periods.parse("2024-03") == "2024-03"
    assert periods.parse(" 2024-03 ") == "2024-03"


@given(a_period, st.integers(-600, 600))
def test_shifting_there_and_back_returns_to_the_same_month(period, months):
    there = periods.shift(period, months)
    assert periods.parse(there) == there
    assert periods.months_from(period, there) == months
    assert periods.shift(there, -months) == period


@given(a_period, st.integers(0, 48))
def test_between_is_as_long_as_months_from_says_and_sorted_as_text(first, months):
    last = periods.shift(first, months)
    listed = periods.between(first, last)
    assert len(listed) == periods.months_from(first, last) + 1
    assert listed == sorted(listed)
    assert listed[0] == first and listed[-1] == last
    assert len(set(listed)) == len(listed)
