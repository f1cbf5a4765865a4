"""Reports: a program's budget and its findings, now or as they stood, as JSON or a file.

``as_of=YYYY-MM`` replays the log up to the end of that month and reads the
figures as of its last day; ``position=N`` replays the log's first N events and
reads them as of today; neither reads the live read models. ``format=csv`` or
``xlsx`` answers a file download instead of JSON; NIKs are masked in all of them.
"""

from typing import Annotated, Literal

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from api.file_names import safe_file_name
from api.problems import READ_PROBLEMS
from ledger.system import System
from projections import report_files
from projections.report_files import BudgetReport, FindingsReport, Section

ReportFormat = Literal["json", "csv", "xlsx"]
AS_OF = QueryParameter(description="A month YYYY-MM: the figures as the ledger had recorded "
                       "them by its end")
POSITION = QueryParameter(ge=0, description="A log position: the figures after the log's "
                          "first N events (instead of as_of)")
FORMAT = QueryParameter(description="json (default), csv or xlsx (a download)")
FILE_DESCRIPTION = "The report as JSON; with format=csv or xlsx, as a file download"
_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": report_files.XLSX_MEDIA_TYPE}


class ReportController(Controller):
    path = "/programs/{program_id:str}/reports"
    tags = ["reports"]

    @get("/budget", sync_to_thread=True, responses=READ_PROBLEMS,
         response_description=FILE_DESCRIPTION,
         summary="Budget, billed, paid, committed and available, by funding source and month")
    def budget(self, program_id: FromPath[str], system: NamedDependency[System],
               as_of: Annotated[str | None, AS_OF] = None,
               position: Annotated[int | None, POSITION] = None,
               format: Annotated[ReportFormat, FORMAT] = "json",
               ) -> Response[BudgetReport]:
        report = report_files.budget_report(system, program_id, as_of, position)
        if format == "json":
            return Response(report)
        return download(report_files.budget_sections(report), format,
                         f"budget-{program_id}-{report.as_of.isoformat()}-{report.position}")

    @get("/findings", sync_to_thread=True, responses=READ_PROBLEMS,
         response_description=FILE_DESCRIPTION,
         summary="What finance teams and auditors chase: double, late and unowed payments, gaps")
    def findings(self, program_id: FromPath[str], system: NamedDependency[System],
                 as_of: Annotated[str | None, AS_OF] = None,
                 position: Annotated[int | None, POSITION] = None,
                 format: Annotated[ReportFormat, FORMAT] = "json",
                 ) -> Response[FindingsReport]:
        report = report_files.findings_report(system, program_id, as_of, position)
        if format == "json":
            return Response(report)
        return download(report_files.findings_sections(report), format,
                         f"findings-{program_id}-{report.as_of.isoformat()}-{report.position}")


def download(sections: list[Section], file_format: ReportFormat, name: str) -> Response:
    content = (report_files.csv_bytes(sections) if file_format == "csv"
               else report_files.xlsx_bytes(sections))
    # A program id is free text: it must not break out of the header's quoted file name.
    safe = safe_file_name(name)
    return Response(content, media_type=_MEDIA_TYPES[file_format], headers={
        "Content-Disposition": f'attachment; filename="{safe}.{file_format}"'})
