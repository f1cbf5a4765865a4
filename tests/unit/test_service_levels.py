from datetime import date

import pytest

from ledger import benefits
from ledger.service_levels import add_working_days, days_late, is_working_day, late_penalty_idr

RULES = benefits.rules_on(date(2024, 1, 1))


# Working days


@pytest.mark.parametrize(("day", "working"), [
    (date(2024, 4, 8), True),     # Monday
    (date(2024, 4, 6), False),    # Saturday
    (date(2024, 4, 7), False),    # Sunday
    (date(2024, 4, 10), False),   # Eid al-Fitr, a Wednesday
    (date(2024, 4, 11), False),   # Eid al-Fitr, second day
    (date(2024, 8, 16), True),    # the Friday before Independence Day
    (date(2024, 8, 17), False),   # Independence Day, on a Saturday
    (date(2024, 12, 25), False),  # Christmas, a Wednesday
    (date(2024, 12, 24), True),
    (date(2025, 1, 1), False),    # New Year's Day
    (date(2025, 3, 31), False),   # Eid al-Fitr 2025, a Monday
])
def test_working_days_skip_weekends_and_indonesian_public_holidays(day, working):
    assert is_working_day(day) is working


def test_three_working_days_from_a_tuesday_in_an_ordinary_week_is_the_friday():
    assert add_working_days(date(2024, 7, 2), 3) == date(2024, 7, 5)


def test_the_start_day_itself_does_not_count():
    assert add_working_days(date(2024, 7, 2), 1) == date(2024, 7, 3)
    assert add_working_days(date(2024, 7, 2), 0) == date(2024, 7, 2)


def test_counting_from_a_friday_skips_the_weekend():
    assert add_working_days(date(2024, 7, 5), 1) == date(2024, 7, 8)


def test_counting_from_a_saturday_starts_on_monday():
    assert add_working_days(date(2024, 7, 6), 1) == date(2024, 7, 8)


def test_three_working_days_across_eid_al_fitr_2024_skip_both_days_of_eid():
    # Mon 8, Tue 9, [Eid Wed 10, Thu 11], Fri 12
    assert add_working_days(date(2024, 4, 5), 3) == date(2024, 4, 12)


def test_seven_working_days_across_eid_al_fitr_2024():
    # Mon 8, Tue 9, [10, 11], Fri 12, [13, 14], Mon 15, Tue 16, Wed 17, Thu 18
    assert add_working_days(date(2024, 4, 5), 7) == date(2024, 4, 18)


def test_a_deadline_that_would_fall_on_christmas_moves_to_the_next_working_day():
    # from Thursday 19 Dec: Fri 20, Mon 23, Tue 24, and Wed 25 is Christmas
    assert add_working_days(date(2024, 12, 19), 4) == date(2024, 12, 26)


def test_a_deadline_that_would_fall_on_new_years_day_moves_into_the_new_year():
    # from Monday 30 Dec 2024: Tue 31, [Wed 1 Jan], Thu 2
    assert add_working_days(date(2024, 12, 30), 2) == date(2025, 1, 2)


def test_independence_day_on_a_saturday_moves_nothing():
    # from Thursday 15 Aug: Fri 16, [Sat 17, Sun 18], Mon 19
    assert add_working_days(date(2024, 8, 15), 2) == date(2024, 8, 19)


def test_a_deadline_on_an_independence_day_that_falls_on_a_weekday_moves_to_the_next_day():
    # 17 Aug 2023 was a Thursday: from Monday 14 Aug, Tue 15, Wed 16, [Thu 17], Fri 18
    assert add_working_days(date(2023, 8, 14), 3) == date(2023, 8, 18)


def test_the_deadlines_are_three_working_days_for_jkm_and_seven_for_jkk():
    assert (RULES.jkm_due_working_days, RULES.jkk_due_working_days) == (3, 7)
    assert RULES.jkk_late_percent_per_day == 1


# Lateness and the JKK penalty


@pytest.mark.parametrize(("paid_on", "late"), [
    (date(2024, 4, 10), 0),   # early
    (date(2024, 4, 18), 0),   # on the due day
    (date(2024, 4, 19), 1),
    (date(2024, 4, 21), 3),   # calendar days, weekends included
    (date(2024, 5, 18), 30),
])
def test_days_late_are_calendar_days_after_the_due_day(paid_on, late):
    assert days_late(date(2024, 4, 18), paid_on) == late


def test_the_penalty_is_one_percent_of_the_amount_a_day():
    assert late_penalty_idr(48_000_000, 1, 1) == 480_000
    assert late_penalty_idr(48_000_000, 10, 1) == 4_800_000


def test_the_penalty_is_rounded_down_to_the_rupiah():
    assert late_penalty_idr(1_999, 1, 1) == 19       # 19.99
    assert late_penalty_idr(12_345_678, 3, 1) == 370_370   # 370,370.34
    assert late_penalty_idr(99, 1, 1) == 0


def test_no_penalty_when_on_time():
    assert late_penalty_idr(48_000_000, 0, 1) == 0
    assert late_penalty_idr(48_000_000, days_late(date(2024, 4, 18), date(2024, 4, 1)), 1) == 0

