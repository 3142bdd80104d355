"""Schemathesis against the service's OpenAPI schema: generated requests, valid and
invalid, must never get a server error, and every answer must match the schema."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")


def test_no_server_error_and_answers_match_the_schema(service):
    from hypothesis import HealthCheck, given, settings

    from ncf.serving.app import create_app

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(service, max_k=50))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 9
    calls = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=60,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            response = case.call_and_validate()
            assert response.status_code < 500
            calls.append(response.status_code)

        check()
    assert len(calls) >= 9 * 20
