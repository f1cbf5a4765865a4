"""The HTTP edge of the ledger: a Litestar app over ``ledger.system.System``.

``api.app.create_app`` builds it; ``api.server.serve`` runs it with uvicorn.
"""
