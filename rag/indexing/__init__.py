"""Indexing: embedding passages (the offline multilingual-e5-small, converted by ``python -m rag.indexing.e5_convert``),
the BM25 index, the local FAISS index files, the stores that hold a generation, and ingest that builds one."""
