"""Run the app with uvicorn (``ledger serve``)."""

import uvicorn

from api.app import create_app
from ledger.settings import Settings


def serve(settings: Settings | None = None, host: str = "127.0.0.1", port: int = 8000) -> None:
    # uvicorn's access log would print raw paths; RequestLog logs route templates instead.
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False)
