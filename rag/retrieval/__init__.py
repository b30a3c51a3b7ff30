"""Retrieval: what a question asks (region, year, intent: :mod:`rag.retrieval.query`; its everyday words in the
reports' terms: :mod:`rag.retrieval.everyday`) and the hybrid search over a store (:mod:`rag.retrieval.retrieve`)."""
