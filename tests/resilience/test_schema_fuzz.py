"""Property-based fuzzing of every operation in the app's OpenAPI schema, over HTTP, with schemathesis.

The app runs under a real uvicorn with the stand-in Claude and LocalAPI servers and the sample data.
Test cases are generated from the schema the app builds (`create_app().openapi()`, needed at collection,
before any server runs); a first test checks that it is exactly what the running server serves at
/openapi.json. (schemathesis's lazy `from_fixture` loader, which would read the URL at run time, does not
work with pytest 9: it writes `Function._nodeid`, which pytest 9 no longer has.)
Every generated request must get an answer that is not a 5xx and that matches the schema: a documented
status code, the documented content type, and a body valid against the documented model.

Nothing is excluded: streaming (`/chat/stream`) is fuzzed as well, its body read to the end. The routes
that are not in the schema (the pages, the docs, /static) take no parameters, so there is nothing to
generate for them; `test_routes_outside_the_schema_...` sends them hostile paths and queries instead. The chat
rate limit is raised for this app so that chat operations are exercised rather than answered 429
(the limit itself is tested in test_rate_limit.py).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from app.settings import Settings
from tests.bench.app_stack import AppStack, running_app

MIN_REQUESTS = 1000
RANDOM_FUZZING = os.environ.get("RESILIENCE_FUZZ_RANDOM", "") == "1"
REQUEST_TIMEOUT_S = 30.0
# FastAPI answers a body that is not JSON at all with 400 before any route runs, and documents no 400.
# That answer is the framework's, identical for every JSON operation, and is accepted; any other
# undocumented status code fails.
FRAMEWORK_BODY_ERROR = "There was an error parsing the body"


@schemathesis.check
def documented_status_code(ctx: Any, response: Any, case: Any) -> bool | None:
    """status_code_conformance, except FastAPI's own 400 for an unparsable body."""
    if response.status_code == 400 and FRAMEWORK_BODY_ERROR in response.text:
        return None
    return status_code_conformance(ctx, response, case)


CHECKS = [not_a_server_error, documented_status_code, content_type_conformance, response_schema_conformance]


def _operations_with_inputs(schema: dict[str, Any]) -> tuple[int, int]:
    """(operations, operations that take parameters or a body) in the app's schema."""
    total = with_inputs = 0
    for operations in schema["paths"].values():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            total += 1
            if operation.get("parameters") or operation.get("requestBody"):
                with_inputs += 1
    return total, with_inputs


APP_SCHEMA = create_app(Settings()).openapi()
OPERATIONS, OPERATIONS_WITH_INPUTS = _operations_with_inputs(APP_SCHEMA)
# Operations without inputs give one request each; the others share the rest of the total, with margin.
EXAMPLES_PER_OPERATION = max(
    10,
    math.ceil(1.25 * (MIN_REQUESTS - (OPERATIONS - OPERATIONS_WITH_INPUTS)) / max(1, OPERATIONS_WITH_INPUTS)),
)

requests_sent: Counter[str] = Counter()


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppStack]:
    workdir: Path = tmp_path_factory.mktemp("fuzz")
    with running_app(workdir, env={"CF_CHAT_RATE_LIMIT_REQUESTS": "1000000"}) as stack:
        yield stack


schema = schemathesis.openapi.from_dict(APP_SCHEMA)


def test_the_fuzzed_schema_is_the_one_the_server_serves(fuzzed_app: AppStack) -> None:
    served = schemathesis.openapi.from_url(f"{fuzzed_app.url}/openapi.json")
    assert served.raw_schema == APP_SCHEMA


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    # The same generated requests on every run, so a red CI is reproducible and a green one is not luck;
    # RESILIENCE_FUZZ_RANDOM=1 explores new ones (a failure prints the seed to replay it).
    derandomize=not RANDOM_FUZZING,
)
def test_no_generated_request_gets_a_server_error_or_an_off_schema_answer(
    case: Any, fuzzed_app: AppStack
) -> None:
    requests_sent[case.operation.label] += 1
    case.call_and_validate(base_url=fuzzed_app.url, checks=CHECKS, timeout=REQUEST_TIMEOUT_S)


def test_fuzzing_sent_at_least_1000_requests_across_every_operation() -> None:
    operations = list(schema.get_all_operations())
    broken = [result.err() for result in operations if not isinstance(result, Ok)]
    assert not broken, f"operations schemathesis could not read from the schema: {broken}"
    labels = {result.ok().label for result in operations if isinstance(result, Ok)}
    not_reached = sorted(labels - set(requests_sent))
    assert not not_reached, f"operations the fuzzer never called: {not_reached}"
    total = sum(requests_sent.values())
    assert total >= MIN_REQUESTS, (
        f"only {total} generated requests ({dict(requests_sent)}); raise EXAMPLES_PER_OPERATION "
        f"(now {EXAMPLES_PER_OPERATION})"
    )


OUTSIDE_THE_SCHEMA = {
    "/": {307},
    "/dashboard": {200},
    "/vpn": {200},
    "/docs": {200},
    "/redoc": {200},
    "/openapi.json": {200},
    "/static/js/common.js": {200},
    "/dashboard?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E": {200},
    "/static/does-not-exist.js": {404},
    "/static/../app/settings.py": {404},
    "/static/%2e%2e/%2e%2e/app/settings.py": {404},
    "/static/..%2f..%2fapp%2fsettings.py": {404},
    "/no-such-page": {404},
}


def test_routes_outside_the_schema_answer_hostile_paths_without_server_errors(fuzzed_app: AppStack) -> None:
    for path, expected in OUTSIDE_THE_SCHEMA.items():
        response = httpx.get(f"{fuzzed_app.url}{path}", timeout=10, follow_redirects=False)
        assert response.status_code in expected, f"{path}: {response.status_code}"
        assert "class Settings" not in response.text, f"{path} served the app's source"
