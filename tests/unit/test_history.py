"""Every event that speaks about a business date says which one."""

import datetime

from ledger.events import EVENT_TYPES
from ledger.history import BUSINESS_DATE_FIELD, business_date
from tests.unit.scenario import KOTAMOBAGU_OPENED, matched, submitted


def test_every_event_type_with_a_date_other_than_a_birth_date_names_its_business_date():
    for name, cls in EVENT_TYPES.items():
        dated = [field for field, kind in cls.__annotations__.items()
                 if kind in (datetime.date, datetime.date | None) and field != "birth_date"]
        if dated:
            assert BUSINESS_DATE_FIELD.get(cls) in dated, name
        else:
            assert cls not in BUSINESS_DATE_FIELD, name


def test_a_verification_is_dated_by_the_day_it_was_done_and_a_submission_by_none():
    assert business_date(matched()) == matched().verified_on
    assert business_date(submitted()) is None
    assert business_date(KOTAMOBAGU_OPENED) == KOTAMOBAGU_OPENED.coverage_start
