"""A schema-driven fuzz run of the API (issue 11): schemathesis generates requests from the
OpenAPI schema (/api/schema/) for every operation and sends each, in-process through the WSGI
app, with the API token of every member of the cast. It counts the cases, the 5xx answers and
the answers that break the schema (a body or a content type the schema does not describe).

Used by the test ``core/tests/test_api_fuzz.py`` (small, in CI) and by ``bench/fuzz_api.py``
(bigger). Each request runs in a savepoint rolled back after it: the data stay the cast's, and
on PostgreSQL a failed statement cannot spoil the next request.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import hypothesis
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from taxdesk.testing.cast import EXPECTED_VIEW

CHECKS = [response_schema_conformance, content_type_conformance]


@dataclass
class FuzzResult:
    operations: int = 0
    cases: int = 0
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"operations {self.operations}, cases {self.cases}, "
            f"5xx {len(self.server_errors)}, schema violations {len(self.violations)}"
        )


def tokens(world) -> dict[str, str]:
    """Every member of the cast (one of each role and tenant) with an API token."""
    return {
        name: Token.objects.get_or_create(user=world.users[name])[0].key
        for name in sorted(EXPECTED_VIEW)
    }


@contextmanager
def _connection_kept():
    """As Django's test client does: a request through the WSGI app must not close the
    database connection at its end (the test's transaction lives on it)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def run(world, *, max_examples: int, seed: int = 11) -> FuzzResult:
    with _connection_kept():
        return _run(world, max_examples=max_examples, seed=seed)


def _run(world, *, max_examples: int, seed: int) -> FuzzResult:
    app = get_wsgi_application()
    keys = tokens(world)
    # The schema needs a sign-in (core.api): read it as the platform administrator.
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", app, headers={"Authorization": f"Token {keys['root']}"}
    )
    result = FuzzResult()
    for outcome in schema.get_all_operations():
        operation = outcome.ok()
        result.operations += 1
        _fuzz(operation, keys, result, max_examples, seed)
    return result


def _fuzz(operation, keys, result: FuzzResult, max_examples: int, seed: int) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.seed(seed)
    @hypothesis.given(case=operation.as_strategy(), who=st.sampled_from(sorted(keys)))
    def one(case, who):
        result.cases += 1
        with transaction.atomic():
            response = case.call(headers={"Authorization": f"Token {keys[who]}"})
            transaction.set_rollback(True)
        if response.status_code >= 500:
            result.server_errors.append(
                f"{label} as {who}: {response.status_code} {response.text[:200]}"
            )
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # a failed check: outside the schema
            result.violations.append(f"{label} as {who}: {response.status_code} {str(exc)[:300]}")

    one()
