"""Plain views of the properties a policy receives, with unknown values made explicit.

During a preview the engine sends values that depend on other resources' outputs as unknown
sentinels; pulumi-policy raises `UnknownValueError` when such a value is read. Policies here read
properties through `plain()`, which turns every unknown into the `UNKNOWN` marker, so a rule can
skip what it cannot judge yet (the same rule runs again on `pulumi up`, when the value is known)
and still check everything that is known.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from pulumi_policy.proxy import UnknownValueError

# The engine's sentinels for unknown values (sdk/go/common/resource/plugin/rpc.go); the engine
# itself encodes every unknown as the string one.
UNKNOWN_SENTINELS: Final = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)


class Unknown:
    """A value the engine does not know yet (a preview of a value computed from another resource)."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = Unknown()


def is_unknown(value: object) -> bool:
    return isinstance(value, Unknown)


def plain(value: Any) -> Any:
    """A deep copy of `value` as dicts, lists and scalars, with every unknown replaced by `UNKNOWN`."""
    if isinstance(value, str):
        return UNKNOWN if value in UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key in value:
            try:
                item = value[key]
            except UnknownValueError:
                item = UNKNOWN
            result[str(key)] = plain(item)
        return result
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                item = value[index]
            except UnknownValueError:
                item = UNKNOWN
            items.append(plain(item))
        return items
    return value


def known_str(value: object) -> str | None:
    """`value` if it is a known string, else None."""
    return value if isinstance(value, str) else None


def entries(value: object) -> Iterator[Any]:
    """The elements of a known list property (nothing for a missing or unknown list)."""
    if isinstance(value, list):
        yield from value


def mapping(value: object) -> dict[str, Any]:
    """A known object property as a dict (empty for a missing or unknown object)."""
    return value if isinstance(value, dict) else {}


def stack_of(urn: str) -> str:
    """The stack name in a URN `urn:pulumi:<stack>::<project>::<type>::<name>`."""
    head = urn.split("::", 1)[0]
    parts = head.split(":", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "urn" else ""
