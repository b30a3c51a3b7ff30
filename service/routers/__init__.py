"""Routers: ``health`` (open), ``api`` (our JSON API), ``openai_compat`` (/v1)."""
