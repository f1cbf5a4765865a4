"""The codec on every event type that holds personal data: what it stores is sealed,
and what it reads back is the event it was given, field for field, whichever way it
decodes (typed for plain string fields, through a dict for the rest)."""

from datetime import UTC, date, datetime
from typing import Any

import msgspec
import pytest

from ledger.codec import EventCodec
from ledger.errors import PersonalDataUnreadable
from ledger.events import (
    EVENT_TYPES,
    PERSONAL_FIELDS,
    SUPERSEDED_TYPES,
    BillIssued,
    BillLine,
    CandidateCorrected,
    CandidateSubmitted,
    ClaimRejected,
    ClaimReported,
    DocumentReceived,
    Event,
    EventMeta,
    HeirRecorded,
    PayoutRecorded,
)
from ledger.personal_data import Keyring, keyring_from, new_key_file_content

META = EventMeta(actor_id="clerk-1", actor_role="enrollment_clerk",
                 recorded_at=datetime(2024, 3, 1, 8, 0, tzinfo=UTC), command_id="cmd-1")


def line(nik: str, participant_id: str | None) -> BillLine:
    return BillLine(participant_id=participant_id, nik=nik, kpj=None, first_period="2024-01",
                    months=2, amount_idr=33_600, rule_version="iuran-2024", flags=["late"])


EVENTS: list[Event] = [
    CandidateSubmitted(program_id="prog-1", nik="7174014503850001", full_name="Siti Aminah",
                       birth_date=date(1985, 3, 5), sex="P", mother_name="Hajjah Rahmah",
                       address="Jl. Sam Ratulangi 7", village="Wenang", occupation="nelayan",
                       cohort="informal", submitted_by="village-1"),
    CandidateCorrected(reason="typo", full_name="Siti Aminah Lubis", birth_date=date(1985, 3, 6)),
    CandidateCorrected(reason="address only", address="Jl. Pierre Tendean 2"),
    BillIssued(bill_id="bill-1", program_id="prog-1", source="imported", document_ref="doc-1",
               issued_on=date(2024, 2, 1), funding_source="APBD", first_period="2024-01",
               months=2, stated_total_idr=100_800,
               # the same NIK twice (a repeated value), and a line without one
               lines=[line("7174014503850001", "p1"), line("7174014503850002", None),
                      line("7174014503850001", "p1"), line("", None)]),
    BillIssued(bill_id="bill-2", program_id="prog-1", source="generated", document_ref="doc-2",
               issued_on=date(2024, 3, 1), funding_source="APBN", first_period="2024-03",
               months=1, stated_total_idr=0, lines=[]),
    ClaimReported(claim_id="claim-1", program_id="prog-1", participant_id="p1", benefit="JKM",
                  fatal=True, incident_date=date(2024, 1, 9), reported_on=date(2024, 1, 10),
                  reporter_name="Budi Santoso", reporter_relation="spouse",
                  circumstances="stroke at Gunawan's stall", traffic_accident=False),
    DocumentReceived(document="death_certificate", received_on=date(2024, 1, 11),
                     reference="AKTA 7174-KM-0001"),
    HeirRecorded(name="Rina Santoso", relation="child", evidence="KK 7174010101240007",
                 recorded_on=date(2024, 1, 11)),
    ClaimRejected(rejected_on=date(2024, 1, 12), reason_code="other",
                  detail="Gunawan's statement contradicts the hospital's"),
    PayoutRecorded(payout_ref="po-1", payee_name="Budi Santoso", relation="spouse",
                   component="santunan_kematian", amount_idr=42_000_000,
                   paid_on=date(2024, 2, 1)),
    PayoutRecorded(payout_ref="po-2", payee_name="Budi Santoso", relation="sibling",
                   component="funeral", amount_idr=10_000_000, paid_on=date(2024, 2, 1),
                   override_reason="Gunawan, the spouse, signed a waiver"),
]
CLEAR_TEXT = (b"Siti", b"Budi", b"Rina", b"Gunawan", b"7174014503850001", b"Sam Ratulangi",
              b"7174-KM-0001", b"7174010101240007")


KEYS = new_key_file_content()


def fresh_keyring() -> Keyring:
    """A keyring that has opened nothing yet, so nothing is read from its memory."""
    return keyring_from(KEYS, "the test's keys")


def by_dict(keyring: Keyring, type_name: str, state: bytes) -> tuple[Event, EventMeta]:
    """The reference reading: the stored JSON as a dict, every personal value opened where
    PERSONAL_FIELDS says, then converted to the event's type."""
    raw = msgspec.json.decode(state)

    def opened(node: Any, path: tuple[str, ...]) -> None:
        key, rest = path[0], path[1:]
        if key == "*":
            for item in node:
                opened(item, rest)
        elif rest:
            if node.get(key) is not None:
                opened(node[key], rest)
        elif node.get(key):
            node[key] = keyring.unseal(node[key])

    for path in PERSONAL_FIELDS[type_name]:
        opened(raw["data"], path)
    stored = msgspec.convert(raw, msgspec.defstruct(
        "Stored", [("meta", EventMeta), ("data", EVENT_TYPES[type_name])]))
    return stored.data, stored.meta


def test_the_cases_cover_every_type_with_personal_data():
    assert {event.TYPE for event in EVENTS} == set(PERSONAL_FIELDS) - set(SUPERSEDED_TYPES)


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: event.TYPE)
def test_an_event_with_personal_data_reads_back_as_it_was_given(event):
    # given an event stored by the codec
    type_name, state = EventCodec(fresh_keyring()).encode(event, META)

    # when it is read, and read again (its values now remembered as opened)
    codec = EventCodec(fresh_keyring())
    first, second = codec.decode(type_name, state), codec.decode(type_name, state)

    # then both readings are the event and its meta, as the dict reading gives them
    assert first == second == (event, META) == by_dict(fresh_keyring(), type_name, state)
    # and no personal value is in the stored bytes
    assert not [text for text in CLEAR_TEXT if text in state]


def test_a_bill_line_whose_sealed_nik_was_altered_does_not_read():
    # given a stored bill whose second line's sealed NIK had its first character changed
    bill = EVENTS[3]
    type_name, state = EventCodec(fresh_keyring()).encode(bill, META)
    stored = msgspec.json.decode(state)
    key, body = stored["data"]["lines"][1]["nik"].rsplit(":", 1)
    stored["data"]["lines"][1]["nik"] = f"{key}:{'A' if body[0] != 'A' else 'B'}{body[1:]}"

    # when it is read, then it is refused as unreadable personal data
    with pytest.raises(PersonalDataUnreadable):
        EventCodec(fresh_keyring()).decode(type_name, msgspec.json.encode(stored))


def test_a_generated_bill_naming_no_nik_is_stored_as_one_with_nothing_to_seal():
    # given a generated bill: its lines name participants, none a NIK
    bill = msgspec.structs.replace(EVENTS[4], lines=[line("", "p1"), line("", "p2")])

    # when the codec stores it
    type_name, state = EventCodec(fresh_keyring()).encode(bill, META)

    # then the bytes are the payload's own JSON, nothing sealed, and it reads back
    assert state == msgspec.json.encode({"meta": META, "data": msgspec.to_builtins(bill)})
    assert EventCodec(fresh_keyring()).decode(type_name, state) == (bill, META)


def stored_as_v1(event: Event) -> tuple[str, bytes]:
    """The event as a ledger before the v2 claim types stored it: under its v1 name, the
    fields v1 sealed sealed, its free text in the clear."""
    name = next(old for old, cls in SUPERSEDED_TYPES.items() if cls is type(event))
    data = msgspec.to_builtins(event)
    for (field,) in PERSONAL_FIELDS.get(name, ()):
        data[field] = fresh_keyring().seal(data[field])
    return name, msgspec.json.encode({"meta": META, "data": data})


V1_EVENTS = [event for event in EVENTS if type(event) in SUPERSEDED_TYPES.values()]


def test_every_superseded_type_has_a_case():
    assert {stored_as_v1(event)[0] for event in V1_EVENTS} == set(SUPERSEDED_TYPES)


@pytest.mark.parametrize("event", V1_EVENTS, ids=lambda event: stored_as_v1(event)[0])
def test_a_superseded_claim_event_reads_as_its_successor(event):
    # given a claim event a v1 ledger stored, its free text in the clear
    type_name, state = stored_as_v1(event)
    clear = [value for (field,) in PERSONAL_FIELDS[type(event).TYPE]
             if (field,) not in PERSONAL_FIELDS.get(type_name, ())
             and (value := getattr(event, field))]
    assert all(msgspec.json.encode(value) in state for value in clear)

    # when it is read with every personal field opened
    # then it is the event its successor holds
    assert EventCodec(fresh_keyring()).decode(type_name, state) == (event, META)


@pytest.mark.parametrize("event", V1_EVENTS, ids=lambda event: stored_as_v1(event)[0])
def test_a_reader_that_leaves_personal_data_sealed_finds_a_v1_event_sealed_as_a_v2(event):
    # given the same claim event stored by a v1 ledger and by this one
    old_name, old_state = stored_as_v1(event)
    new_name, new_state = EventCodec(fresh_keyring()).encode(event, META)

    # when a read model's reader, opening no personal field, reads both
    codec = EventCodec(fresh_keyring())
    old, new = codec.decode(old_name, old_state, {}), codec.decode(new_name, new_state, {})

    # then it gets the same, every personal field sealed (sealing is deterministic)
    assert old == new
    assert not [text for text in CLEAR_TEXT if text in msgspec.json.encode(old[0])]


@pytest.mark.parametrize("event", [e for e in EVENTS
                                   if isinstance(e, CandidateSubmitted | CandidateCorrected)],
                         ids=lambda event: type(event).__name__)
def test_a_reader_that_opens_only_the_nik_gets_a_birth_date_as_its_sealed_text(event):
    # given a candidate's event as the log stores it
    keyring = fresh_keyring()
    type_name, state = EventCodec(keyring).encode(event, META)

    # when a reader that opens only a candidate's NIK reads it
    read, meta = EventCodec(keyring).decode(type_name, state,
                                             {CandidateSubmitted.TYPE: (("nik",),)})

    # then it is still the event's class, the NIK opened, and every other personal field
    # (the birth date, which is not text, too) the sealed text the log holds
    stored = msgspec.json.decode(state)["data"]
    assert isinstance(read, type(event)) and meta == META
    if isinstance(event, CandidateSubmitted):
        assert read.nik == event.nik
    for field in ("full_name", "birth_date", "mother_name", "address"):
        assert getattr(read, field) == stored.get(field)
    if event.birth_date is not None:
        assert read.birth_date.startswith("pd1:")
        assert keyring.unseal(read.birth_date) == event.birth_date.isoformat()
