"""The HTTP API (FastAPI), versioned under ``/api/v1``.

``triage.api.app.create_app(settings, session_factory)`` builds it.
"""
