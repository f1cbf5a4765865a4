"""Reading import files: what a village's spreadsheet export can throw at the importer."""

from pathlib import Path

import pytest

from ledger.csvfile import CsvRows, Rejection, RejectionLog, Row, parse_date, parse_sex
from ledger.errors import ImportRejected, InvalidInput
from ledger.registry_files import load_registry

COLUMNS = ("nik", "full_name")


def read(path: Path, **kwargs) -> list[Row | Rejection]:
    with CsvRows(path, COLUMNS, **kwargs) as rows:
        return list(rows)


def a_file(tmp_path: Path, content: bytes | str) -> Path:
    path = tmp_path / "list.csv"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path):
    path = a_file(tmp_path, "nik,full_name\n7174014503850001,Siti\n\n7174010101800002,Budi\n")

    rows = read(path)

    assert rows == [Row(2, {"nik": "7174014503850001", "full_name": "Siti"}),
                    Row(4, {"nik": "7174010101800002", "full_name": "Budi"})]


def test_a_bom_extra_columns_crlf_and_padding_are_accepted(tmp_path):
    path = a_file(tmp_path, "\ufeffNo, Full_Name ,NIK\r\n1,\"Siti, Hj.\" , 7174014503850001 \r\n")

    assert read(path) == [Row(2, {"nik": "7174014503850001", "full_name": "Siti, Hj."})]


def test_a_quoted_field_may_span_lines_and_still_count_as_one_row(tmp_path):
    path = a_file(tmp_path, 'nik,full_name\n1,"Siti\nMokodompit"\n2,Budi\n')

    assert [r.number for r in read(path)] == [2, 3]


def test_missing_columns_are_named_and_the_file_refused(tmp_path):
    path = a_file(tmp_path, "NIK,name\n7174014503850001,Siti\n")

    with pytest.raises(ImportRejected, match="lacks the column.s. full_name") as refused:
        read(path)
    assert refused.value.field == "_header"


def test_a_headerless_file_is_refused_without_echoing_its_first_row(tmp_path):
    path = a_file(tmp_path, "7174014503850001,Siti Mokodompit\n")

    with pytest.raises(ImportRejected) as refused:
        read(path)
    assert "7174014503850001" not in refused.value.detail
    assert "Siti" not in refused.value.detail


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n\r\n"])
def test_an_empty_file_is_refused(tmp_path, content):
    with pytest.raises(ImportRejected, match="is empty"):
        read(a_file(tmp_path, content))


def test_a_file_that_is_not_utf8_is_refused_up_front_naming_the_line_and_byte(tmp_path):
    path = a_file(tmp_path, "nik,full_name\n1,Jos\u00e9\n".encode("latin-1"))

    with pytest.raises(ImportRejected, match=r"byte 0xE9 at line 2 \(byte offset 19\)"):
        read(path)


def test_a_bad_byte_deep_in_the_file_costs_only_its_row(tmp_path):
    good = "".join(f"{n},Name {n}\n" for n in range(6000))  # past the first 64 KiB checked
    path = a_file(tmp_path, b"nik,full_name\n" + good.encode() + b"9,Jos\xe9\n10,Budi\n")

    rows = read(path)

    assert rows[-2] == Rejection(6002, "_line", rows[-2].reason)
    assert "byte 0xE9 at byte 6 of the row" in rows[-2].reason
    assert rows[-1] == Row(6003, {"nik": "10", "full_name": "Budi"})


def test_an_overlong_line_is_refused_as_one_row_without_reading_it_whole(tmp_path):
    path = tmp_path / "list.csv"
    with open(path, "wb") as out:
        out.write(b"nik,full_name\n1,Siti\n2,")
        out.write(b"x" * (5 * 1024 * 1024))  # 5 MB: stands in for the 100 MB line
        out.write(b"\n3,Budi\n")

    rows = read(path, max_line_bytes=1024)

    assert rows[0].number == 2
    assert rows[1] == Rejection(3, "_line", "the row is longer than the limit of 1024 bytes")
    assert rows[2] == Row(4, {"nik": "3", "full_name": "Budi"})


def test_a_quote_that_never_closes_stops_the_read_naming_its_row(tmp_path):
    path = a_file(tmp_path, 'nik,full_name\n1,Siti\n2,"Budi\n' + "3,Ani\n" * 400)

    with CsvRows(path, COLUMNS, max_line_bytes=1024) as rows:
        items = iter(rows)
        assert next(items).number == 2
        with pytest.raises(ImportRejected, match="row 3: a quoted field runs on"):
            next(items)


def test_a_row_short_of_the_required_columns_is_refused(tmp_path):
    path = a_file(tmp_path, "nik,full_name,village\n7174014503850001\n1,Siti,Biga,extra\n")

    rows = read(path)

    assert rows[0] == Rejection(2, "_line", "the row has 1 fields where the header has 3")
    assert rows[1] == Rejection(3, "_line", "the row has 4 fields where the header has 3")


def test_a_missing_file_is_refused_by_name(tmp_path):
    with pytest.raises(ImportRejected, match="cannot read nothing.csv"):
        read(tmp_path / "nothing.csv")


@pytest.mark.parametrize(("value", "expected"), [
    ("1985-03-05", (1985, 3, 5)), ("05-03-1985", (1985, 3, 5)), ("05/03/1985", (1985, 3, 5)),
])
def test_dates_are_read_iso_or_day_first(value, expected):
    assert parse_date({"birth_date": value}, "birth_date").timetuple()[:3] == expected


@pytest.mark.parametrize(("value", "message"), [
    ("1985-02-30", "birth_date is not a real calendar date"),
    ("5 March 1985", "birth_date must be a date such as"),
    ("", "birth_date is blank"),
])
def test_impossible_or_unreadable_dates_are_refused_without_quoting_them(value, message):
    with pytest.raises(InvalidInput, match=message) as refused:
        parse_date({"birth_date": value}, "birth_date")
    assert refused.value.field == "birth_date"
    assert value not in refused.value.detail or not value


@pytest.mark.parametrize(("value", "sex"), [("L", "L"), ("p", "P"), ("m", "L"), ("F", "P")])
def test_sex_is_l_or_p_and_m_or_f_are_read_as_such(value, sex):
    assert parse_sex({"sex": value}) == sex


def test_any_other_sex_value_is_refused_naming_sex():
    with pytest.raises(InvalidInput) as refused:
        parse_sex({"sex": "X"})
    assert refused.value.field == "sex"


def test_the_rejection_report_is_written_only_when_a_row_is_refused(tmp_path):
    with RejectionLog(tmp_path / "clean.csv") as clean:
        pass
    with RejectionLog(tmp_path / "out.csv", keep=1) as log:
        log.add(Rejection(2, "nik", "NIK must have exactly 16 digits"))
        log.add(Rejection(5, "sex", "sex must be L or P"))

    assert clean.written_path is None and not (tmp_path / "clean.csv").exists()
    assert (tmp_path / "out.csv").read_text() == (
        "row,field,reason\n2,nik,NIK must have exactly 16 digits\n5,sex,sex must be L or P\n")
    assert log.count == 2 and len(log.kept) == 1


def test_a_registry_extract_loads_with_p3ke_and_skips_malformed_rows(tmp_path):
    extract = a_file(tmp_path, "nik,full_name,birth_date,sex,mother_name,kk\n"
                               "7174014503850001,Siti Mokodompit,1985-03-05,P,Nurhayati,1\n"
                               "7174014503850001,Siti M,1985-03-05,P,Nurhayati,1\n"
                               "7174010101800002,Budi,1980-01-01,X,Ani,1\n")
    p3ke = tmp_path / "p3ke.csv"
    p3ke.write_text("nik\n7174014503850001\nnot-a-nik\n", encoding="utf-8")
    skipped = []

    registry = load_registry(extract, p3ke, on_rejected=skipped.append)

    assert registry.source == "dukcapil:list.csv" and len(registry) == 1
    assert registry.lookup("7174014503850001").full_name == "Siti Mokodompit"
    assert registry.in_p3ke("7174014503850001")
    assert [(r.row, r.field) for r in skipped] == [(3, "nik"), (4, "sex"), (3, "nik")]
    assert skipped[2].reason.startswith("P3KE file: ")
