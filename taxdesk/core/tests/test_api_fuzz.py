"""The schema-driven fuzz run of the API, small enough for CI (``-m fuzz`` finds it; the
bigger run is bench/fuzz_api.py): no answer is a 5xx, none breaks the OpenAPI schema."""

import pytest

from taxdesk.testing.fuzz import run


@pytest.mark.fuzz
def test_fuzzing_the_api_finds_no_5xx_and_no_answer_outside_the_schema(cast):
    result = run(cast, max_examples=4)
    assert result.operations > 40, result.summary()
    assert result.cases > result.operations
    assert result.server_errors == [], "\n".join(result.server_errors[:20])
    assert result.violations == [], "\n".join(result.violations[:20])
