"""Explicit error types. Every error the CLI or the API reports to a user is one of these."""

from __future__ import annotations


class RagError(Exception):
    """Base class of every error this package raises on purpose."""


class DocumentError(RagError):
    """A report file cannot be used: missing, binary, not UTF-8, empty or of an unsupported type."""


class ModelConversionError(RagError):
    """The bundled embedding weights could not be converted into a sentence-transformers folder."""


class IndexNotFoundError(RagError):
    """No index has been built yet at the configured location."""


class IndexMismatchError(RagError):
    """The index on disk does not match the current settings or source files."""


class QueryError(RagError):
    """A search or question is malformed (empty, too long, bad filter)."""


class LLMError(RagError):
    """The language model backend failed (unreachable, timed out, bad response)."""


class StoreError(RagError):
    """The index store (a Milvus server) cannot be reached or refused a request."""
