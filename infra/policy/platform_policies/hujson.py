"""HuJSON (JSON with comments and trailing commas, the tailnet policy file's format) to JSON."""

from __future__ import annotations

import json
from typing import Any


def _without_comments(text: str) -> str:
    out: list[str] = []
    index, length = 0, len(text)
    in_string = False
    while index < length:
        char = text[index]
        if in_string:
            out.append(char)
            if char == "\\" and index + 1 < length:
                out.append(text[index + 1])
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", index):
            end = text.find("\n", index)
            index = length if end == -1 else end
            continue
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            if end == -1:
                raise ValueError("unterminated /* comment")
            index = end + 2
            out.append(" ")
            continue
        else:
            out.append(char)
        index += 1
    return "".join(out)


def _without_trailing_commas(text: str) -> str:
    out: list[str] = []
    in_string = False
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if in_string:
            out.append(char)
            if char == "\\" and index + 1 < length:
                out.append(text[index + 1])
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif char == ",":
            following = index + 1
            while following < length and text[following].isspace():
                following += 1
            if following == length or text[following] not in "}]":
                out.append(char)
        else:
            out.append(char)
        index += 1
    return "".join(out)


def loads(text: str) -> Any:
    """Parse a HuJSON document; raises ValueError when it is not valid HuJSON."""
    return json.loads(_without_trailing_commas(_without_comments(text)))
