"""The HTTP service: our JSON API, an OpenAI-compatible API and (later) the chat widget.

``create_app()`` in :mod:`service.app` builds the FastAPI application; ``rag serve`` runs it. The ``rag``
command line (:mod:`service.cli`, also ``python -m service``) lives here too, outside the engine.
"""
