"""Commands on one participant: correct, verify, record a verification, enroll, terminate.

One endpoint per command; each answers 201 when it appended events and 200
when the ledger already held the same fact (e.g. the same verdict again).
"""

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.civil_registry import RegistrySource
from api.dependencies import participant_uuid
from api.problems import COMMAND_PROBLEMS
from api.routes.participants import (
    IDEMPOTENT_COMMAND_RESPONSES,
    CommandResult,
    command_result,
)
from ledger.participant import CorrectCandidate, Enroll, RecordVerification, Terminate
from ledger.service import Actor
from ledger.system import System


class ParticipantCommandController(Controller):
    path = "/programs/{program_id:str}/participants/{participant_id:str}"
    tags = ["participants"]

    @post("/corrections", sync_to_thread=True, responses=COMMAND_PROBLEMS,
          summary="Correct identity data; sends the candidate back to verification")
    def correct(self, program_id: FromPath[str], participant_id: FromPath[str],
                data: JSONBody[CorrectCandidate], system: NamedDependency[System],
                actor: NamedDependency[Actor],
                command_id: NamedDependency[str | None]) -> Response[CommandResult]:
        result = system.ledger.correct(program_id, participant_uuid(participant_id), data, actor,
                                       command_id)
        return command_result(result)

    @post("/verification", sync_to_thread=True, responses=IDEMPOTENT_COMMAND_RESPONSES,
          summary="Verify (pemadanan) against the server's civil-registry extract")
    def verify(self, program_id: FromPath[str], participant_id: FromPath[str],
               system: NamedDependency[System], registry: NamedDependency[RegistrySource],
               actor: NamedDependency[Actor],
               command_id: NamedDependency[str | None]) -> Response[CommandResult]:
        pid = participant_uuid(participant_id)
        result = system.ledger.verify(program_id, pid, registry.get(), actor, command_id)
        return command_result(result)

    @post("/verification-results", sync_to_thread=True, responses=IDEMPOTENT_COMMAND_RESPONSES,
          summary="Record a verification done elsewhere (e.g. at Disdukcapil's counter)")
    def record_verification(self, program_id: FromPath[str], participant_id: FromPath[str],
                            data: JSONBody[RecordVerification], system: NamedDependency[System],
                            actor: NamedDependency[Actor],
                            command_id: NamedDependency[str | None]) -> Response[CommandResult]:
        result = system.ledger.record_verification(
            program_id, participant_uuid(participant_id), data, actor, command_id)
        return command_result(result)

    @post("/enrollment", sync_to_thread=True, responses=COMMAND_PROBLEMS,
          summary="Enroll a matched participant with their KPJ; takes a quota seat")
    def enroll(self, program_id: FromPath[str], participant_id: FromPath[str],
               data: JSONBody[Enroll], system: NamedDependency[System],
               actor: NamedDependency[Actor],
               command_id: NamedDependency[str | None]) -> Response[CommandResult]:
        result = system.ledger.enroll(program_id, participant_uuid(participant_id), data, actor,
                                      command_id)
        return command_result(result)

    @post("/termination", sync_to_thread=True, responses=COMMAND_PROBLEMS,
          summary="Terminate (died, moved, withdrawn); gives an enrolled participant's seat back")
    def terminate(self, program_id: FromPath[str], participant_id: FromPath[str],
                  data: JSONBody[Terminate], system: NamedDependency[System],
                  actor: NamedDependency[Actor],
                  command_id: NamedDependency[str | None]) -> Response[CommandResult]:
        result = system.ledger.terminate(program_id, participant_uuid(participant_id), data,
                                         actor, command_id)
        return command_result(result)
