"""docs/events.md is the auditor's reference: it must match the code exactly."""

import re
from pathlib import Path

from ledger.bill import LINE_FLAGS
from ledger.claim import DOCUMENTS
from ledger.events import EVENT_TYPES, PERSONAL_FIELDS, SUPERSEDED_TYPES, EventMeta
from ledger.verification import REASON_CODES

DOC = (Path(__file__).parents[2] / "docs" / "events.md").read_text(encoding="utf-8")


def documented_sections() -> dict[str, list[str]]:
    """Event type name -> the field names in its table, in order."""
    sections = {}
    for match in re.finditer(r"^### `([a-z_.0-9]+)`\n(.*?)(?=^##|\Z)", DOC, re.M | re.S):
        sections[match.group(1)] = re.findall(r"^\| `([a-z_0-9]+)` \|", match.group(2), re.M)
    return sections


def test_every_event_type_is_documented_and_nothing_else():
    assert set(documented_sections()) == set(EVENT_TYPES) | set(SUPERSEDED_TYPES)


def test_a_superseded_type_is_documented_as_its_successor_with_what_it_left_clear():
    superseded = DOC.split("## Superseded types")[1].split("\n## ")[0]
    for name, cls in SUPERSEDED_TYPES.items():
        section = superseded.split(f"### `{name}`\n")[1].split("\n\n")[0].strip()
        clear = ", ".join(f"`{'.'.join(path)}`" for path in PERSONAL_FIELDS[cls.TYPE]
                          if path not in PERSONAL_FIELDS.get(name, ()))
        assert section == f"The fields of `{cls.TYPE}`, with {clear} in the clear.", name
        assert name.rsplit(".", 1)[0] == cls.TYPE.rsplit(".", 1)[0]


def test_each_documented_table_lists_exactly_the_fields_of_the_event():
    sections = documented_sections()
    for name, cls in EVENT_TYPES.items():
        assert sections[name] == list(cls.__struct_fields__), name


def test_the_meta_envelope_is_documented():
    meta_table = DOC.split("`meta`, on every event:")[1].split("\n\n")[1]
    assert re.findall(r"^\| `([a-z_0-9]+)` \|", meta_table, re.M) == list(
        EventMeta.__struct_fields__)


def test_every_reason_code_is_documented_with_its_meaning():
    table = DOC.split("## Mismatch reason codes")[1]
    documented = dict(re.findall(r"^\| `([a-z_0-9]+)` \| (.+?) \|$", table, re.M))
    assert documented == REASON_CODES


def test_every_bill_line_flag_is_documented_with_its_meaning():
    table = DOC.split("#### Bill line flags")[1].split("\n#")[0]
    documented = dict(re.findall(r"^\| `([a-z_0-9]+)` \| (.+?) \|$", table, re.M))
    assert documented == LINE_FLAGS


def test_type_names_are_versioned_and_not_module_paths():
    for name in [*EVENT_TYPES, *SUPERSEDED_TYPES]:
        assert re.fullmatch(r"[a-z]+\.[a-z_]+\.v\d+", name), name
    assert all(":" not in name and "ledger" not in name for name in EVENT_TYPES)


def test_every_claim_document_is_listed_in_the_claims_guide():
    guide = (Path(__file__).parents[2] / "docs" / "claims.md").read_text(encoding="utf-8")
    table = guide.split("| code | document |")[1].split("\n\n")[0]
    assert dict(re.findall(r"^\| `([a-z_0-9]+)` \| (.+?) \|$", table, re.M)) == DOCUMENTS


def test_the_sealed_fields_are_documented_exactly():
    table = DOC.split("## Personal data (sealed)")[1].split("\n## ")[0]
    documented = {name: tuple(tuple(path.split(".")) for path in re.findall(r"`([a-z_.*]+)`",
                                                                           fields))
                  for name, fields in re.findall(r"^\| `([a-z_.0-9]+)` \| (.+?) \|$", table,
                                                 re.M)}
    assert documented == PERSONAL_FIELDS
