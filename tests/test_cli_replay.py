"""``ledger audit participant`` and ``ledger audit claim`` as an auditor runs them: a person
and a claim as the ledger stood at a log position or a recorded time (both backends)."""

from datetime import date
from uuid import UUID

import pytest

from ledger.participant import Terminate
from ledger.settings import Settings
from ledger.system import open_system
from tests.service.test_contributions import CLERK, PEOPLE, PROGRAM
from tests.test_cli_claims import members, on
from tests.test_cli_reports import ledger

__all__ = ["ledger", "members"]  # other modules' fixtures: imported to be used here

SITI_NIK_MASKED = PEOPLE[0].nik[:6] + "******" + PEOPLE[0].nik[-4:]


@pytest.fixture
def system(db_url, tmp_path):
    """The same ledger the commands open, for reading positions and recorded times."""
    with open_system(Settings(database_url=db_url, data_dir=tmp_path / "data")) as system:
        yield system


def test_a_participant_before_and_after_termination(ledger, members, system):
    siti = members[0]
    enrolled_at = system.store.head()
    system.ledger.terminate(PROGRAM, UUID(siti), Terminate(
        reason="moved", effective_date=date(2024, 6, 30)), CLERK)
    terminated = system.store.read(UUID(siti))[-1].meta.recorded_at

    code, before, _ = ledger("audit", "participant", "--program", PROGRAM, siti, "--position",
                             str(enrolled_at))
    assert code == 0
    assert before.startswith(f"Participant {siti} of {PROGRAM} at log position "
                             f"{enrolled_at:,}: enrolled\n")
    assert "participant.enrolled.v1" in before and "participant.terminated.v1" not in before
    code, after, _ = ledger("audit", "participant", "--program", PROGRAM, siti, "--at",
                            terminated.isoformat())
    assert code == 0 and ": terminated\n" in after
    assert "terminated_on       2024-06-30" in after and "participant.terminated.v1" in after
    assert SITI_NIK_MASKED in after and PEOPLE[0].nik not in before + after


def test_a_claim_as_it_stood_when_reported_and_after_a_document(ledger, members, system):
    code, _, _ = ledger("claim", "report", "--program", PROGRAM, "--participant", members[0],
                        "--benefit", "JKM", "--incident-date", "2024-05-20", "--reported-on",
                        "2024-05-20", "--reporter-name", "Hasan Mokodompit",
                        "--reporter-relation", "spouse", "--circumstances", "illness at home")
    assert code == 0
    reported = system.store.head()
    claim_id = f"death-{members[0]}"
    assert ledger("claim", "document", *on(claim_id, "--document", "kpj_card", "--received-on",
                                           "2024-05-21", "--reference", "KPJ-1"))[0] == 0

    code, then, _ = ledger("audit", "claim", "--program", PROGRAM, claim_id, "--position",
                           str(reported))
    _, now, _ = ledger("audit", "claim", "--program", PROGRAM, claim_id, "--position",
                       str(system.store.head()))

    assert code == 0
    assert then.startswith(f"Claim {claim_id} (JKM, participant {members[0]}) of {PROGRAM} "
                           f"as of ")
    assert f"log position {reported:,}: reported" in then
    assert "document_received" not in then and "kpj_card received" in now


def test_a_point_the_log_does_not_hold_is_refused_by_name(ledger, members, system):
    beyond = str(system.store.head() + 1)
    for args, problem in (
        (("participant", "--program", PROGRAM, members[0], "--position", beyond),
         "(invalid-input) [position]"),
        (("participant", "--program", PROGRAM, members[0], "--at", "2024-07-01"),
         "(invalid-input) [at]"),
        (("participant", "--program", PROGRAM, members[0], "--at", "2024-01-01T00:00:00Z"),
         "(participant-not-found) [participant_id]"),
        (("claim", "--program", PROGRAM, "JKK-2024-04-02", "--position", "0"),
         "(claim-not-found) [claim_id]"),
        (("claim", "--program", "kotamobagu-2099", "JKK-2024-04-02", "--position", "0"),
         "(program-not-found) [program_id]"),
    ):
        code, _, err = ledger("audit", *args)
        assert code == 1, args
        assert err.strip().splitlines()[-1].startswith(f"ledger: refused {problem}"), err

    with pytest.raises(SystemExit) as usage:  # neither --position nor --at
        ledger("audit", "claim", "--program", PROGRAM, "JKK-2024-04-02")
    assert usage.value.code == 2
