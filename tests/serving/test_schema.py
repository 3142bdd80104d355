"""Schemathesis against the service's OpenAPI schema, with its token: generated requests,
valid and invalid, must never get a server error, and every answer must match the
schema. Reloading is left out (each call loads the bundle again)."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")


def test_no_server_error_and_answers_match_the_schema(service):
    from hypothesis import HealthCheck, given, settings

    from ncf.serving.app import create_app

    token = "a-token-for-the-schema-tests"
    app = create_app(service, max_k=50, token=token)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 12
    calls = []

    for operation in operations:
        if operation.path == "/v1/admin/reload":
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=60,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
            assert response.status_code < 500
            calls.append(response.status_code)

        check()
    assert len(calls) >= 11 * 20
