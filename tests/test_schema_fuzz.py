"""schemathesis over the service's own OpenAPI document, in-process (no model: extractive answers):
every generated request gets a documented status with a body that matches the document, never a 5xx
(all of schemathesis' checks). The fast part (a few dozen cases per operation) runs in `make test`."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings

from service.app import create_app
from service.engine import Engine

#: Cases per operation: 25 in `make test`; `RAG_FUZZ_EXAMPLES=150` for the longer run in docs/reliability.md.
EXAMPLES = int(os.environ.get("RAG_FUZZ_EXAMPLES", "25"))


def test_every_generated_request_gets_a_documented_answer(retriever):
    values = {"rate_limit": "", "warm_up": False, "answer_mode": "quote-first"}
    current = retriever.settings.model_copy(update=values)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(current, engine=Engine(current, retriever, None)))
    # 422 for schema-valid input is right when the *data* is wrong: a region no report is about, a
    # question of spaces only (said in the field descriptions and the documented 422 response); 403 is
    # the upload routes' answer while no admin key is configured (uploads disabled, as here)
    schema.config.checks.positive_data_acceptance.expected_statuses = ["2xx", "401", "403", "404", "422", "429", "503"]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):  # type: ignore[no-untyped-def]
            case.call_and_validate()

        check()
