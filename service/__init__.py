"""The HTTP service: our JSON API, an OpenAI-compatible API and (later) the chat widget.

``create_app()`` in :mod:`service.app` builds the FastAPI application; ``rag serve`` runs it.
"""

from service.app import create_app

__all__ = ["create_app"]
