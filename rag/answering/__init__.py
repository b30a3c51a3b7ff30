"""Answering: quote-first answers with verified citations (:mod:`rag.answering.answer`), refusals for places and
years no report covers, answers about the reports themselves, the model's prompts and the checks of what it says."""
