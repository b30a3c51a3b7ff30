"""The language model: clients of the local, OpenAI-compatible and scripted backends (:mod:`rag.llm.clients`)
and the bundled GGUF they run (:mod:`rag.llm.assets`, ``python -m rag.llm.assets``)."""
