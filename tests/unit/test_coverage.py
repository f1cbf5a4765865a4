from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import coverage, periods
from ledger.coverage import Membership

RULES = coverage.rules_in_force("2024-01")
MARCH_TO_DECEMBER = Membership("2024-03", "2024-12")


def paid_on_time(first: str, last: str, on: date | None = None) -> dict[str, date]:
    """Every month from ``first`` to ``last`` paid on its due day (or all on ``on``)."""
    return {p: on or coverage.due_date(p, RULES) for p in periods.between(first, last)}


def status_of(found: coverage.Coverage, period: str) -> str:
    month = found.month(period)
    assert month is not None, f"{period} is not shown"
    return month.status


def only_march(paid_on: date | None, as_of: date) -> coverage.Coverage:
    """March 2024 paid on ``paid_on`` (or never), every later month paid on time."""
    paid = paid_on_time("2024-04", "2024-12")
    if paid_on is not None:
        paid["2024-03"] = paid_on
    return coverage.coverage(MARCH_TO_DECEMBER, paid, as_of, RULES)


# The rule table


def test_the_rules_in_force_say_the_15th_three_months_and_more_than_three_unpaid():
    assert RULES.version == "coverage/2015-07"
    assert (RULES.due_day, RULES.arrears_window_months, RULES.lapse_after_unpaid_months) == \
        (15, 3, 3)


def test_a_month_is_due_on_the_15th_and_its_arrears_window_closes_three_months_after_its_end():
    assert coverage.due_date("2024-03", RULES) == date(2024, 3, 15)
    assert coverage.window_end("2024-03", RULES) == date(2024, 6, 30)
    assert coverage.window_end("2024-10", RULES) == date(2025, 1, 31)


def test_the_window_of_november_closes_on_the_29th_of_february_in_a_leap_year():
    assert coverage.window_end("2023-11", RULES) == date(2024, 2, 29)
    assert coverage.window_end("2024-11", RULES) == date(2025, 2, 28)


def test_february_is_due_on_the_15th_in_leap_and_common_years_alike():
    assert coverage.due_date("2024-02", RULES) == date(2024, 2, 15)
    assert coverage.due_date("2025-02", RULES) == date(2025, 2, 15)


def test_a_due_day_past_the_end_of_february_falls_on_its_last_day():
    end_of_month = coverage.CoverageRules(version="t", effective_from="2015-07", due_day=30,
                                          arrears_window_months=3, lapse_after_unpaid_months=3)

    assert coverage.due_date("2024-02", end_of_month) == date(2024, 2, 29)
    assert coverage.due_date("2025-02", end_of_month) == date(2025, 2, 28)


# Paid months


def test_a_month_paid_by_the_15th_is_paid_and_covered():
    march = only_march(date(2024, 3, 15), as_of=date(2024, 12, 31)).month("2024-03")

    assert march.status == "paid"
    assert march.covered
    assert march.paid_on == date(2024, 3, 15)


def test_a_month_paid_on_the_16th_is_paid_late_and_still_covered():
    found = only_march(date(2024, 3, 16), as_of=date(2024, 12, 31))

    assert status_of(found, "2024-03") == "paid_late"
    assert found.month("2024-03").covered
    assert found.refunds_due == []


def test_arrears_paid_on_the_last_day_of_the_window_restore_cover():
    found = only_march(date(2024, 6, 30), as_of=date(2024, 12, 31))

    assert status_of(found, "2024-03") == "paid_late"
    assert found.month("2024-03").covered


def test_arrears_paid_the_day_after_the_window_closed_buy_no_cover_and_are_refunded():
    found = only_march(date(2024, 7, 1), as_of=date(2024, 12, 31))

    assert status_of(found, "2024-03") == "paid_too_late"
    assert not found.month("2024-03").covered
    assert [m.period for m in found.refunds_due] == ["2024-03"]
    assert found.lapsed_from is None


def test_arrears_of_a_november_paid_on_the_29th_of_february_of_a_leap_year_still_count():
    membership = Membership("2023-11", "2024-12")
    paid = paid_on_time("2023-12", "2024-12")

    in_time = coverage.coverage(membership, {**paid, "2023-11": date(2024, 2, 29)},
                                date(2024, 6, 1), RULES)
    too_late = coverage.coverage(membership, {**paid, "2023-11": date(2024, 3, 1)},
                                 date(2024, 6, 1), RULES)

    assert status_of(in_time, "2023-11") == "paid_late"
    assert status_of(too_late, "2023-11") == "paid_too_late"


def test_in_a_common_year_the_window_of_november_closes_on_the_28th_of_february():
    membership = Membership("2024-11", "2025-12")
    paid = paid_on_time("2024-12", "2025-12")

    found = coverage.coverage(membership, {**paid, "2024-11": date(2025, 3, 1)},
                              date(2025, 6, 1), RULES)

    assert status_of(found, "2024-11") == "paid_too_late"


# Unpaid months


@pytest.mark.parametrize(("as_of", "status"), [
    (date(2024, 3, 1), "due"),
    (date(2024, 3, 15), "due"),
    (date(2024, 3, 16), "arrears"),
    (date(2024, 6, 30), "arrears"),
    (date(2024, 7, 1), "gap"),
    (date(2024, 12, 31), "gap"),
])
def test_an_unpaid_month_is_due_then_in_arrears_then_a_gap(as_of, status):
    found = only_march(None, as_of)

    assert status_of(found, "2024-03") == status
    assert not found.month("2024-03").covered
    assert found.month("2024-03").paid_on is None


def test_a_gap_is_not_a_refund():
    assert only_march(None, date(2024, 12, 31)).refunds_due == []


def test_months_are_shown_up_to_the_month_of_as_of_and_not_beyond_unless_paid():
    found = coverage.coverage(MARCH_TO_DECEMBER, {}, date(2024, 5, 10), RULES)

    assert [m.period for m in found.months] == ["2024-03", "2024-04", "2024-05"]
    assert [m.status for m in found.months] == ["arrears", "arrears", "due"]


def test_a_membership_that_ended_is_shown_only_to_its_last_month():
    found = coverage.coverage(Membership("2024-03", "2024-05"), paid_on_time("2024-03", "2024-05"),
                              date(2024, 12, 31), RULES)

    assert [m.period for m in found.months] == ["2024-03", "2024-04", "2024-05"]


def test_a_payment_made_after_as_of_is_not_seen():
    paid = {"2024-03": date(2024, 5, 1)}

    before = coverage.coverage(MARCH_TO_DECEMBER, paid, date(2024, 4, 30), RULES)
    after = coverage.coverage(MARCH_TO_DECEMBER, paid, date(2024, 5, 1), RULES)

    assert before.month("2024-03") == coverage.MonthCoverage("2024-03", "arrears", None)
    assert after.month("2024-03") == coverage.MonthCoverage("2024-03", "paid_late",
                                                            date(2024, 5, 1))


def test_an_advance_payment_made_after_as_of_shows_no_future_month():
    paid = paid_on_time("2024-03", "2024-12", on=date(2024, 6, 1))

    found = coverage.coverage(MARCH_TO_DECEMBER, paid, date(2024, 5, 31), RULES)

    assert [m.period for m in found.months] == ["2024-03", "2024-04", "2024-05"]
    assert all(m.paid_on is None for m in found.months)


# Advance payment


def test_twelve_months_paid_in_advance_across_a_year_end_show_as_paid():
    membership = Membership("2024-11", "2025-12")
    paid = {p: date(2024, 10, 10) for p in periods.span("2024-11", 12)}

    found = coverage.coverage(membership, paid, date(2024, 12, 1), RULES)

    assert [m.period for m in found.months] == periods.between("2024-11", "2025-10")
    assert all(m.status == "paid" and m.covered for m in found.months)
    assert found.month("2025-11") is None
    assert found.lapsed_from is None
    assert found.refunds_due == []


def test_months_after_an_advance_runs_out_fall_due_in_their_turn():
    membership = Membership("2024-11", "2025-12")
    paid = {p: date(2024, 10, 10) for p in periods.span("2024-11", 12)}

    found = coverage.coverage(membership, paid, date(2025, 11, 20), RULES)

    assert status_of(found, "2025-10") == "paid"
    assert status_of(found, "2025-11") == "arrears"


def test_an_advance_paid_month_is_not_shown_before_the_membership_starts():
    paid = {"2024-02": date(2024, 1, 10), "2024-03": date(2024, 1, 10)}

    found = coverage.coverage(MARCH_TO_DECEMBER, paid, date(2024, 3, 1), RULES)

    assert [m.period for m in found.months] == ["2024-03"]


# Death in a paid month


def test_a_death_in_a_paid_month_leaves_that_month_covered_and_refunds_the_months_after():
    died_in_august = Membership("2024-03", "2024-08")
    paid = paid_on_time("2024-03", "2024-12", on=date(2024, 2, 20))  # a year paid in advance

    found = coverage.coverage(died_in_august, paid, date(2024, 10, 1), RULES, beyond="2024-12")

    assert status_of(found, "2024-08") == "paid"
    assert found.month("2024-08").covered
    assert [(m.period, m.status) for m in found.months if m.period > "2024-08"] == [
        ("2024-09", "after_end"), ("2024-10", "after_end"), ("2024-11", "after_end"),
        ("2024-12", "after_end")]
    assert [m.period for m in found.refunds_due] == ["2024-09", "2024-10", "2024-11", "2024-12"]
    assert all(m.paid_on == date(2024, 2, 20) for m in found.refunds_due)


def test_without_beyond_the_months_paid_after_a_death_are_not_shown():
    died_in_august = Membership("2024-03", "2024-08")
    paid = paid_on_time("2024-03", "2024-12", on=date(2024, 2, 20))

    found = coverage.coverage(died_in_august, paid, date(2024, 10, 1), RULES)

    assert found.months[-1].period == "2024-08"
    assert found.refunds_due == []


def test_unpaid_months_after_a_death_are_not_shown_even_with_beyond():
    died_in_august = Membership("2024-03", "2024-08")

    found = coverage.coverage(died_in_august, paid_on_time("2024-03", "2024-08"),
                              date(2024, 12, 31), RULES, beyond="2024-12")

    assert found.months[-1].period == "2024-08"


def test_unpaid_months_after_a_death_do_not_lapse_the_membership():
    died_in_may = Membership("2024-03", "2024-05")

    found = coverage.coverage(died_in_may, paid_on_time("2024-03", "2024-05"),
                              date(2025, 6, 30), RULES)

    assert found.lapsed_from is None


# Lapse


def test_four_unpaid_months_lapse_the_membership_on_the_first_day_after_the_fourth():
    # March to June unpaid: March's window closes on 30 June, June is past due since the
    # 16th, so the membership ends on 1 July, from March.
    on_the_eve = coverage.coverage(MARCH_TO_DECEMBER, {}, date(2024, 6, 30), RULES)
    on_the_day = coverage.coverage(MARCH_TO_DECEMBER, {}, date(2024, 7, 1), RULES)

    assert on_the_eve.lapsed_from is None and on_the_eve.lapsed_on is None
    assert (on_the_day.lapsed_from, on_the_day.lapsed_on) == ("2024-03", date(2024, 7, 1))
    assert [m.status for m in on_the_day.months] == ["lapsed"] * 5


def test_three_unpaid_months_are_not_enough_to_lapse():
    paid = paid_on_time("2024-06", "2024-12")  # March, April and May never paid

    found = coverage.coverage(MARCH_TO_DECEMBER, paid, date(2024, 12, 31), RULES)

    assert found.lapsed_from is None
    assert [status_of(found, p) for p in ("2024-03", "2024-04", "2024-05", "2024-06")] == \
        ["gap", "gap", "gap", "paid"]


def test_a_lapse_in_the_middle_of_a_membership_starts_at_the_first_unpaid_month():
    paid = paid_on_time("2024-03", "2024-05")  # June to September unpaid

    eve = coverage.coverage(MARCH_TO_DECEMBER, paid, date(2024, 9, 30), RULES)
    found = coverage.coverage(MARCH_TO_DECEMBER, paid, date(2024, 10, 1), RULES)

    assert eve.lapsed_from is None
    assert (found.lapsed_from, found.lapsed_on) == ("2024-06", date(2024, 10, 1))
    assert [status_of(found, p) for p in ("2024-05", "2024-06", "2024-10")] == \
        ["paid", "lapsed", "lapsed"]


def test_a_lapse_ending_in_february_of_a_leap_year_happens_on_the_first_of_march():
    membership = Membership("2023-11", "2024-12")

    eve = coverage.coverage(membership, {}, date(2024, 2, 29), RULES)
    found = coverage.coverage(membership, {}, date(2024, 3, 1), RULES)

    assert eve.lapsed_from is None
    assert (found.lapsed_from, found.lapsed_on) == ("2023-11", date(2024, 3, 1))


def test_a_late_payment_inside_the_window_saves_the_membership():
    # March's arrears paid on 30 June, the last day of its window; April-June still unpaid
    found = coverage.coverage(MARCH_TO_DECEMBER, {"2024-03": date(2024, 6, 30)},
                              date(2024, 7, 15), RULES)

    assert found.lapsed_from is None
    assert status_of(found, "2024-03") == "paid_late"
    assert status_of(found, "2024-04") == "arrears"


def test_a_late_payment_on_the_lapse_day_does_not_bring_the_membership_back():
    found = coverage.coverage(MARCH_TO_DECEMBER, {"2024-03": date(2024, 7, 1)},
                              date(2024, 7, 15), RULES)

    assert (found.lapsed_from, found.lapsed_on) == ("2024-03", date(2024, 7, 1))
    assert status_of(found, "2024-03") == "lapsed"
    assert [m.period for m in found.refunds_due] == ["2024-03"]


def test_arrears_of_every_month_paid_the_day_after_the_lapse_are_all_refunds_due():
    paid = paid_on_time("2024-03", "2024-06", on=date(2024, 7, 2))

    found = coverage.coverage(MARCH_TO_DECEMBER, paid, date(2024, 8, 1), RULES)

    assert found.lapsed_from == "2024-03"
    assert [m.period for m in found.refunds_due] == periods.between("2024-03", "2024-06")


def test_months_paid_in_advance_after_a_lapse_are_refunds_due():
    paid = paid_on_time("2024-07", "2024-12", on=date(2024, 1, 10))  # March-June unpaid

    before = coverage.coverage(MARCH_TO_DECEMBER, paid, date(2024, 6, 30), RULES)
    after = coverage.coverage(MARCH_TO_DECEMBER, paid, date(2024, 7, 1), RULES)

    assert status_of(before, "2024-07") == "paid"
    assert after.lapsed_from == "2024-03"
    assert status_of(after, "2024-07") == "lapsed"
    assert [m.period for m in after.refunds_due] == periods.between("2024-07", "2024-12")


def test_a_short_membership_cannot_lapse():
    three_months = Membership("2024-03", "2024-05")

    assert coverage.coverage(three_months, {}, date(2025, 1, 1), RULES).lapsed_from is None


# Properties

start_months = st.sampled_from(periods.between("2023-10", "2024-06"))


@st.composite
def histories(draw):
    """A membership, the day each month was first paid (some never), and two days."""
    first = draw(start_months)
    length = draw(st.integers(1, 18))
    last = periods.shift(first, length - 1)
    paid = {}
    for period in periods.between(first, periods.shift(last, 2)):
        if draw(st.booleans()):
            offset = draw(st.integers(-90, 160))
            paid[period] = periods.first_day(period) + timedelta(days=offset)
    day_one = periods.first_day(first) + timedelta(days=draw(st.integers(-30, 700)))
    day_two = day_one + timedelta(days=draw(st.integers(0, 400)))
    return Membership(first, last), paid, day_one, day_two


@settings(max_examples=300)
@given(histories())
def test_a_covered_month_was_always_paid_on_or_before_as_of(history):
    membership, paid, as_of, _ = history

    found = coverage.coverage(membership, paid, as_of, RULES, beyond=periods.shift(
        membership.last_period, 2))

    for month in found.months:
        if month.covered:
            assert month.paid_on is not None
            assert month.paid_on == paid[month.period]
            assert month.paid_on <= as_of
            assert month.paid_on <= coverage.window_end(month.period, RULES)
            assert membership.first_period <= month.period <= membership.last_period
        assert month.paid_on is None or month.paid_on <= as_of


@settings(max_examples=300)
@given(histories())
def test_a_lapse_never_comes_undone_as_time_goes_on(history):
    membership, paid, earlier, later = history

    then = coverage.coverage(membership, paid, earlier, RULES)
    now = coverage.coverage(membership, paid, later, RULES)

    if then.lapsed_from is not None:
        assert (now.lapsed_from, now.lapsed_on) == (then.lapsed_from, then.lapsed_on)
        assert then.lapsed_on <= earlier
    if now.lapsed_from is None:
        assert then.lapsed_from is None


@settings(max_examples=300)
@given(histories())
def test_a_lapse_is_always_more_than_three_months_unpaid_before_the_lapse_day(history):
    membership, paid, as_of, _ = history

    found = coverage.coverage(membership, paid, as_of, RULES)

    if found.lapsed_from is not None:
        run = periods.span(found.lapsed_from, RULES.lapse_after_unpaid_months + 1)
        assert run[-1] <= membership.last_period
        assert all(paid.get(p) is None or paid[p] >= found.lapsed_on for p in run)
        assert found.lapsed_on == periods.first_day(periods.shift(run[-1], 1))
        assert all(m.status == "lapsed" for m in found.months
                   if m.period >= found.lapsed_from)
