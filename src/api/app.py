"""The Litestar application factory: nothing is created at import time.

Request body limits: a command is a few hundred bytes of JSON, so every route
accepts at most ``MAX_COMMAND_BODY_BYTES`` (1 MiB) and a larger body is
refused with 413 ``request-too-large`` before it is parsed. The import routes
and the bill import accept up to ``api.routes.imports.MAX_UPLOAD_BODY_BYTES`` (110
MiB: a 100 MB village list or registry extract plus multipart overhead); uploads are
streamed to temporary files on disk, never held in memory.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

import anyio
from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from api.auth import authorise
from api.civil_registry import RegistrySource
from api.dependencies import DEPENDENCIES
from api.idempotency import Idempotency
from api.metrics import Metrics, prometheus_metrics
from api.problems import EXCEPTION_HANDLERS
from api.request_log import RequestLog, configure_logging
from api.routes.bills import BillController, MembershipController
from api.routes.claims import ClaimController, ClaimsReportController, claim_step_routes
from api.routes.health import health, ready
from api.routes.imports import ImportController
from api.routes.participant_commands import ParticipantCommandController
from api.routes.participants import ParticipantController
from api.routes.programs import ProgramController
from api.routes.replay import ReplayController
from api.routes.reports import ReportController
from api.routes.streams import stream_history
from api.strict_json import decode_json_strictly
from ledger.settings import Settings
from ledger.system import open_system

TITLE = "Pekerja Rentan Ledger"
MAX_COMMAND_BODY_BYTES = 1024 * 1024


def create_app(settings: Settings | None = None) -> Litestar:
    """The app over the database and registry extract of ``settings`` (default: from the
    environment)."""
    settings = settings or Settings.from_env()
    configure_logging()

    @asynccontextmanager
    async def open_and_close_system(app: Litestar) -> AsyncIterator[None]:
        # Opening applies pending migrations: blocking work, kept off the event loop.
        app.state.system = await anyio.to_thread.run_sync(open_system, settings)
        try:
            yield
        finally:
            app.state.system.close()

    app = Litestar(
        route_handlers=[health, ready, prometheus_metrics, ProgramController, ParticipantController,
                        ParticipantCommandController, ImportController, BillController,
                        MembershipController, ReportController, ClaimController,
                        *claim_step_routes(), ClaimsReportController, stream_history,
                        ReplayController],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=decode_json_strictly,
        plugins=[Idempotency()],  # Idempotency-Key on every command (docs/commands.md)
        lifespan=[open_and_close_system],
        state=State({"registry": RegistrySource(settings.registry_path, settings.p3ke_path),
                     "metrics": Metrics(), "program_regions": {}}),
        guards=[authorise],
        openapi_config=OpenAPIConfig(
            title=TITLE, version=version("pekerja-rentan-ledger"), path="/schema",
            components=Components(security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer",
                                         description="A token from `ledger token create`")}),
            security=[{"bearer": []}]),
        request_max_body_size=MAX_COMMAND_BODY_BYTES,
        # Requests are logged by RequestLog in JSON; Litestar must not set up stdlib logging.
        logging_config=None,
    )
    # Wrapping the app's outermost handler (not a route middleware) also covers requests
    # that match no route, so every response carries an X-Request-Id and is logged.
    app.asgi_handler = RequestLog(app.asgi_handler, app.state.metrics)
    return app
