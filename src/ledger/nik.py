"""NIK (Nomor Induk Kependudukan): parse, and cross-check against declared data.

Format and the encoded birth date come from python-stdnum. What stdnum cannot
know is the person: the declared birth date and sex must agree with those the
NIK encodes (women have 40 added to the day), and a NIK issued outside the
program's region is a finding for verification, not a parse error, because a
NIK never changes when a person moves.
"""

from datetime import date
from functools import lru_cache

from stdnum import exceptions as stdnum_errors
from stdnum.id import nik as stdnum_nik

from ledger.errors import InvalidInput
from ledger.events import Sex


def parse(raw: str) -> str:
    """Return the compact 16-digit NIK, or refuse it saying what is wrong.

    Imports parse hundreds of thousands of NIKs and almost all are already 16
    plain digits: those take a fast path that checks the same things stdnum
    does, with the region lookup cached per 4-digit prefix."""
    if len(raw) == 16 and raw.isascii() and raw.isdigit():
        if not _region_known(raw[:4]):
            raise InvalidInput("NIK encodes an unknown province/regency", field="nik")
        if not _date_possible(int(raw[6:8]) % 40, int(raw[8:10]), int(raw[10:12])):
            raise InvalidInput("NIK encodes an impossible birth date", field="nik")
        return raw
    try:
        return stdnum_nik.validate(raw)
    except stdnum_errors.InvalidLength:
        raise InvalidInput("NIK must have exactly 16 digits", field="nik") from None
    except stdnum_errors.InvalidFormat:
        raise InvalidInput("NIK must contain digits only", field="nik") from None
    except stdnum_errors.InvalidComponent:
        raise InvalidInput(
            "NIK encodes an impossible birth date or an unknown province/regency",
            field="nik",
        ) from None


@lru_cache(maxsize=2048)
def _region_known(prefix: str) -> bool:
    """Whether stdnum knows this province+regency, asked with a NIK that differs from
    the real one only in its date and serial (stdnum looks at the first 4 digits)."""
    return stdnum_nik.is_valid(prefix + "01" + "010190" + "0001")


def _date_possible(day: int, month: int, two_digit_year: int) -> bool:
    """As stdnum's get_birth_date: the century is unknown, so 29 Feb needs either to fit."""
    for century in (1900, 2000):
        try:
            date(century + two_digit_year, month, day)
            return True
        except ValueError:
            continue
    return False


def encoded_sex(nik: str) -> Sex:
    return "P" if int(nik[6:8]) > 40 else "L"


def encoded_birth_date_matches(nik: str, birth_date: date) -> bool:
    """The NIK holds only DDMMYY, so compare day, month and two-digit year."""
    day = int(nik[6:8]) % 40
    month = int(nik[8:10])
    year = int(nik[10:12])
    return (birth_date.day, birth_date.month, birth_date.year % 100) == (day, month, year)


def region_of(nik: str) -> str:
    """Province and regency/city (4 digits): district codes may be retired by splits."""
    return nik[:4]
