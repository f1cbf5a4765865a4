"""No personal data in logs or error messages (UU PDP 27/2022): a clerk's whole morning
through the API, good and bad input alike; then every line logged is searched for every
NIK, name, birth date and mother's name the morning used, and every answer for the NIKs
and mothers' names (names and birth dates are what a clerk reads on a record)."""

import json

from tests.api.live_server import a_client
from tests.api.scenario import (
    PROGRAM_ID,
    candidate,
    open_program,
    participant_url,
    siti,
    submit,
)
from tests.api.test_imports import IMPORTS, village_list

PARTICIPANTS = f"/programs/{PROGRAM_ID}/participants"


def test_neither_logs_nor_answers_carry_a_nik_name_or_birth_date(api_server, api_log):
    people = [siti(), candidate(2), candidate(3, full_name="Rahmawati Lasabuda",
                                              mother_name="Hadijah Mamonto")]
    bad = [
        candidate(4, nik="717401450385000"),             # 15 digits
        candidate(5, nik="7174014503859999x"),           # not digits
        candidate(6, birth_date="1985-13-05"),           # no such month
        candidate(7, nik="7174016503850007"),            # NIK says born on the 25th
        candidate(8, nik="3171014503850008"),            # a Jakarta NIK in Kotamobagu
    ]
    answers: list[str] = []
    start = len(api_log)
    with a_client(api_server) as client:
        open_program(client)
        ids = [submit(client, person) for person in people]
        for person in bad:
            answers.append(client.post(PARTICIPANTS, json=person).text)
        answers.append(client.post(f"{IMPORTS}/candidates",
                                   files={"file": village_list(*people, *bad)}).text)
        answers.append(client.get(PARTICIPANTS, params={"nik": people[1]["nik"]}).text)
        answers.append(client.get(participant_url(people[0]["nik"])).text)
        answers.append(client.get(f"{PARTICIPANTS}/{people[2]['nik']}/verification").text)
        for pid in ids:
            detail = client.get(participant_url(pid))
            answers.append(detail.text)
            answers.append(client.get(f"/streams/{pid}/history").text)
        found = client.get(PARTICIPANTS, params={"nik": people[1]["nik"]}).json()["items"]

    logged = "\n".join(api_log[start:])
    assert logged.count('"request_id"') >= len(bad) + 8, "the morning was not logged"
    for person in people + bad:
        for personal in (person["nik"], person["full_name"], person["birth_date"],
                         person["mother_name"]):
            assert personal not in logged, personal
        # answers never carry a whole NIK or a mother's maiden name...
        for hidden in (person["nik"], person["mother_name"]):
            assert not [a for a in answers if hidden in a], hidden
    # ...while the clerk does see the name on the participant's own record
    assert any("Rahmawati Lasabuda" in a for a in answers)
    assert [p["participant_id"] for p in found] == [ids[1]]
    assert all(json.loads(line)["request_id"] for line in api_log[start:]
               if line.startswith("{") and '"request_id"' in line)
