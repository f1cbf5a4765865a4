"""The registry extract keeps small extracts in memory and large ones on disk, alike."""

from datetime import date

import pytest

from ledger.registry_index import ExtractRegistry
from ledger.verification import RegistryRecord


def person(serial: int) -> RegistryRecord:
    return RegistryRecord(nik=f"717401450385{serial:04d}", full_name=f"Siti {serial}",
                          birth_date=date(1985, 3, 5), sex="P", mother_name="Nurhayati")


@pytest.mark.parametrize("memory_limit", [1_000, 3], ids=["in-memory", "spilled-to-disk"])
def test_an_extract_answers_the_same_however_it_is_held(memory_limit):
    registry = ExtractRegistry("dukcapil:test.csv", memory_limit=memory_limit)
    added = [registry.add(person(n)) for n in range(1, 11)]
    registry.add_p3ke(person(2).nik)

    assert added == [True] * 10
    assert registry.on_disk is (memory_limit < 10)
    assert len(registry) == 10
    assert registry.lookup(person(7).nik) == person(7)
    assert registry.lookup("7174014503859999") is None
    assert registry.in_p3ke(person(2).nik) and not registry.in_p3ke(person(3).nik)


@pytest.mark.parametrize("memory_limit", [1_000, 3], ids=["in-memory", "spilled-to-disk"])
def test_the_first_row_of_a_nik_is_kept(memory_limit):
    registry = ExtractRegistry("dukcapil:test.csv", memory_limit=memory_limit)
    for n in range(1, 6):
        registry.add(person(n))

    again = RegistryRecord(nik=person(1).nik, full_name="Someone Else",
                           birth_date=date(1990, 1, 1), sex="L", mother_name="X")

    assert registry.add(again) is False
    assert registry.lookup(person(1).nik) == person(1)
    assert len(registry) == 5


def test_closing_removes_the_index_file():
    registry = ExtractRegistry("dukcapil:test.csv", memory_limit=1)
    registry.add(person(1))
    registry.add(person(2))
    assert registry.path.exists()

    registry.close()

    assert not registry.path.exists() and not registry.path.parent.exists()
