"""Property-based fuzzing of every operation in the app's OpenAPI schema, over HTTP, with schemathesis.

The app runs under a real uvicorn with the stand-in Claude and LocalAPI servers and the sample data.
Test cases are generated from the schema the app builds (`create_app().openapi()`, needed at collection,
before any server runs); a first test checks that it is exactly what the running server serves at
/openapi.json. (schemathesis's lazy `from_fixture` loader, which would read the URL at run time, does not
work with pytest 9: it writes `Function._nodeid`, which pytest 9 no longer has.)
Every generated request must get an answer that is not a 5xx and that matches the schema: a documented
status code, the documented content type, and a body valid against the documented model. At least 2,000
cases run over all operations: valid and invalid ones (schemathesis's positive and negative modes),
and valid ones with one field set to an edge value (dates overflowing near year 1 and 9999, a batch
spanning years, "NaN" and "1e400" as query text, long text: `QUERY_EDGE_VALUES`, `BODY_EDGE_VALUES`), in one
test that counts them itself. A separate process times /health all along (tests/resilience/
health_probe.py), and the app's work must never hold it back 100 ms.

Nothing is excluded: streaming (`/chat/stream`) is fuzzed as well, its body read to the end. The routes
that are not in the schema (the pages, the docs, /static) take no parameters, so there is nothing to
generate for them; `test_routes_outside_the_schema_...` sends them hostile paths and queries instead. The chat
rate limit is raised for this app so that chat operations are exercised rather than answered 429
(the limit itself is tested in test_rate_limit.py).
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from app.settings import Settings
from tests.bench.app_stack import AppStack, running_app
from tests.resilience.health_probe import health_probe

MIN_CASES = 2000
HEALTH_BUDGET_MS = 100.0
RANDOM_FUZZING = os.environ.get("RESILIENCE_FUZZ_RANDOM", "") == "1"
REQUEST_TIMEOUT_S = 10.0
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


def _takes_input(operation: APIOperation) -> bool:
    return bool(list(operation.iter_parameters())) or bool(operation.body)


#: Values a schema-driven generator does not produce (its dates are UTC and recent, its text short), put
#: into one query parameter or body field of a valid generated case: a third kind of case, besides valid
#: and invalid ones. Query values are text, body values JSON. (What the generator's client cannot send —
#: NaN, Infinity, 1e400 and lone surrogates in JSON, invalid UTF-8 — goes into every field in
#: test_hostile_input.py, as raw bytes.)
QUERY_EDGE_VALUES = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1",
    "99999999999999999999999999",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2026-06-10T00:00:00",
    "x" * 4000,
]
BODY_EDGE_VALUES: list[Any] = [
    1e308,
    10**30,
    -1,
    0,
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2099-12-31T23:00:00+00:00",
    "2026-06-10T00:00:00",
    "x" * 10_000,
    None,
    [],
]


def _field_names(operation: APIOperation) -> list[tuple[str, str]]:
    """(where, name) of every query parameter and top-level body property of `operation`."""
    fields = [("query", p.name) for p in operation.iter_parameters() if p.location.value == "query"]
    for body in operation.body:
        for name in body.definition.get("schema", {}).get("properties", {}):
            fields.append(("body", name))
    return fields


def _with_edge_value(case: Any, field: tuple[str, str], index: int) -> Any:
    where, name = field
    if where == "query":
        case.query = {**(case.query or {}), name: QUERY_EDGE_VALUES[index % len(QUERY_EDGE_VALUES)]}
    elif isinstance(case.body, dict):
        case.body = {**case.body, name: BODY_EDGE_VALUES[index % len(BODY_EDGE_VALUES)]}
    return case


APP_SCHEMA = create_app(Settings()).openapi()
schema = schemathesis.openapi.from_dict(APP_SCHEMA)


def _operations() -> list[APIOperation]:
    results = list(schema.get_all_operations())
    broken = [result.err() for result in results if not isinstance(result, Ok)]
    assert not broken, f"operations schemathesis could not read from the schema: {broken}"
    return [result.ok() for result in results if isinstance(result, Ok)]


def _examples_per_operation(operations: list[APIOperation]) -> int:
    """Operations without inputs give one case each; the others share the rest of MIN_CASES, with margin."""
    with_inputs = sum(1 for operation in operations if _takes_input(operation))
    return max(10, math.ceil(1.2 * (MIN_CASES - (len(operations) - with_inputs)) / max(1, with_inputs)))


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppStack]:
    workdir: Path = tmp_path_factory.mktemp("fuzz")
    with running_app(
        workdir,
        env={
            "CF_CHAT_RATE_LIMIT_REQUESTS": "1000000",
            # The batch endpoint is fuzzed past its writer check: this machine writes as `fuzz`.
            "CF_PRODUCTION_LOCAL_WRITER": "fuzz",
        },
    ) as stack:
        yield stack


def test_the_fuzzed_schema_is_the_one_the_server_serves(fuzzed_app: AppStack) -> None:
    served = schemathesis.openapi.from_url(f"{fuzzed_app.url}/openapi.json")
    assert served.raw_schema == APP_SCHEMA


def _fuzz(operation: APIOperation, url: str, examples: int, sent: Counter[str]) -> None:
    """Valid, invalid and edge-valued cases of one operation; the first failing case raises (shrunk)."""
    strategy = operation.as_strategy(GenerationMode.POSITIVE)
    if _takes_input(operation):
        edged = st.builds(
            _with_edge_value,
            operation.as_strategy(GenerationMode.POSITIVE),
            st.sampled_from(_field_names(operation)),
            st.integers(min_value=0, max_value=len(QUERY_EDGE_VALUES) * len(BODY_EDGE_VALUES)),
        )
        strategy = st.one_of(strategy, operation.as_strategy(GenerationMode.NEGATIVE), edged)

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        # The same generated requests on every run, so a red CI is reproducible and a green one is not
        # luck; RESILIENCE_FUZZ_RANDOM=1 explores new ones (a failure prints the seed to replay it).
        derandomize=not RANDOM_FUZZING,
    )
    def call(case: Any) -> None:
        sent[operation.label] += 1
        case.call_and_validate(base_url=url, checks=CHECKS, timeout=REQUEST_TIMEOUT_S)

    call()


def test_2000_generated_cases_over_every_operation_get_no_5xx_and_health_stays_fast(
    fuzzed_app: AppStack, tmp_path: Path
) -> None:
    """Every operation of the schema, the batch endpoint included, valid and invalid cases alike: no 5xx,
    no timeout, an answer that matches the schema, and /health answering within 100 ms throughout."""
    operations = _operations()
    examples = _examples_per_operation(operations)
    sent: Counter[str] = Counter()
    failures: list[str] = []
    windows: list[tuple[float, float, str]] = []
    with health_probe(fuzzed_app.url, fuzzed_app.app.process.pid, tmp_path) as probe:
        for operation in operations:
            began = time.time()
            try:
                _fuzz(operation, fuzzed_app.url, examples, sent)
            except (Exception, FailureGroup) as error:  # fuzz the others too; report every failing one
                failures.append(f"{operation.label}: {type(error).__name__}: {error}")
            windows.append((began, time.time(), operation.label))
    assert not failures, "\n\n".join(failures)
    not_reached = sorted({operation.label for operation in operations} - set(sent))
    assert not not_reached, f"operations the fuzzer never called: {not_reached}"
    total = sum(sent.values())
    assert total >= MIN_CASES, (
        f"only {total} generated cases ({dict(sent)}); examples per operation: {examples}"
    )
    assert "POST /production/batches" in sent
    assert all(status == 200 for status in probe.statuses), f"/health failed: {set(probe.statuses)}"
    worst = next((label for start, end, label in windows if start <= probe.slowest_at() <= end), "?")
    assert probe.slowest_held_ms < HEALTH_BUDGET_MS, f"{probe.summary()}, while fuzzing {worst}"
    print(f"{total} cases over {len(operations)} operations; {probe.summary()} (while fuzzing {worst})")


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
