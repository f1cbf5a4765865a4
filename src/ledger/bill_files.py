"""Bill files as BPJS TK sends them: one line per person and month (kpj, nik, period,
amount_idr).

Unlike a village list, a bill is one document: a line the ledger cannot read
means the file is not the bill BPJS TK meant, so one malformed row refuses the
whole file (``ImportRejected`` naming the row and the column) and nothing is
recorded. Rows are read with ``ledger.csvfile`` (streaming, UTF-8, header by
name, spreadsheet row numbers: the header is row 1). Whether a line is the
tariff, or someone the program enrolled, is the bill decider's question, not
the file's; so is a line repeated.
"""

from pathlib import Path

from ledger import nik as nik_rules
from ledger import periods
from ledger.bill import ImportedLine
from ledger.csvfile import CsvRows, Rejection, Row
from ledger.errors import ImportRejected, InvalidInput

COLUMNS = ("kpj", "nik", "period", "amount_idr")


def read_bill(path: Path) -> list[ImportedLine]:
    """Every line of the bill file at ``path``, or a refusal of the whole file."""
    with CsvRows(path, COLUMNS) as rows:
        return [_line(row) for row in rows]


def _line(row: Row | Rejection) -> ImportedLine:
    if isinstance(row, Rejection):
        raise ImportRejected(f"row {row.row}: {row.reason}", field=row.field)
    try:
        return ImportedLine(line_no=row.number, nik=_nik(row.values), kpj=_kpj(row.values),
                            period=periods.parse(row.values["period"], "period"),
                            amount_idr=_amount(row.values))
    except InvalidInput as error:
        raise ImportRejected(f"row {row.number}, column {error.field}: {error.detail}",
                             field=error.field) from None


def _nik(values: dict[str, str]) -> str:
    """The NIK, or "" when the line names the person by KPJ only."""
    if not values["nik"]:
        if not values["kpj"]:
            raise InvalidInput("both kpj and nik are blank; a line names its person by one "
                               "of them", field="nik")
        return ""
    return nik_rules.parse(values["nik"])


def _kpj(values: dict[str, str]) -> str | None:
    kpj = values["kpj"]
    if kpj and not (kpj.isascii() and kpj.isdigit()):
        raise InvalidInput("kpj must be the digits of a BPJS TK membership number", field="kpj")
    return kpj or None


def _amount(values: dict[str, str]) -> int:
    # "16.800" is sixteen thousand eight hundred to a clerk and 16.8 to a program: both are
    # refused rather than guessed, like the API refuses a quota written that way.
    amount = values["amount_idr"]
    if not (amount.isascii() and amount.isdigit()) or int(amount) == 0:
        raise InvalidInput("amount_idr must be a positive whole number of Rupiah written "
                           "without separators, e.g. 16800", field="amount_idr")
    return int(amount)
