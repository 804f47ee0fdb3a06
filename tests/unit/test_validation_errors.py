"""The 422 reply's errors: where and what, never the input, always valid UTF-8 and small."""

from __future__ import annotations

import json

from app.http_errors import MAX_ERRORS, describe_errors


def test_an_error_keeps_loc_msg_and_type_and_drops_the_input_and_ctx() -> None:
    error = {
        "type": "less_than_equal",
        "loc": ("body", "kg"),
        "msg": "Input should be less than or equal to 1000000",
        "input": "9" * 1_000_000,
        "ctx": {"le": 1_000_000},
    }
    assert describe_errors([error]) == [
        {
            "loc": ["body", "kg"],
            "msg": "Input should be less than or equal to 1000000",
            "type": "less_than_equal",
        }
    ]


def test_a_field_name_from_the_input_is_shortened_and_made_valid_utf8() -> None:
    crafted_key = "\ud800" + "k" * 10_000
    [error] = describe_errors(
        [{"type": "extra_forbidden", "loc": ("body", crafted_key), "msg": "Extra inputs"}]
    )
    reply = json.dumps(error, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
    assert len(reply) < 300
    assert error["loc"][1].startswith("\\ud800kkk")


def test_a_flood_of_errors_is_cut_to_the_first_few() -> None:
    errors = [{"type": "missing", "loc": ("body", n), "msg": "Field required"} for n in range(10_000)]
    described = describe_errors(errors)
    assert len(described) == MAX_ERRORS
    assert described[0]["loc"] == ["body", 0]
