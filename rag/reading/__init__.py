"""Reading reports: files of every format into text (:mod:`rag.reading.loaders`), cleaned paragraphs and the
report's metadata (:mod:`rag.reading.documents`), headings, tables, review/plan sections and chunks."""
