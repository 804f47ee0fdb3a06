"""Server-sent events, parsed to the end of the stream.

Follows the HTML event-stream interpretation (lines `event:`, `data:`, a blank line dispatches the event)
with one deliberate difference: when the body ends, an event that has its fields but lacks the final
blank line is still dispatched. The spec discards it; a proxy or server that drops the closing `\\n\\n`
would otherwise cost us `message_stop` and turn a whole answer into a "cut" one.
Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    event: str
    data: str


class Decoder:
    """Feed lines, get events; `flush()` at the end of the body gives a pending event."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []

    def line(self, line: str) -> Event | None:
        if not line:
            return self.flush()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None

    def flush(self) -> Event | None:
        if not self._event and not self._data:
            return None
        event = Event(self._event or "message", "\n".join(self._data))
        self._event, self._data = "", []
        return event


async def events(chunks: AsyncIterable[bytes]) -> AsyncIterator[Event]:
    """The events of a byte stream, including a last one without its closing blank line."""
    decoder = Decoder()
    pending = b""
    async for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            event = decoder.line(raw.removesuffix(b"\r").decode("utf-8"))
            if event is not None:
                yield event
    if pending:
        event = decoder.line(pending.removesuffix(b"\r").decode("utf-8"))
        if event is not None:
            yield event
    last = decoder.flush()
    if last is not None:
        yield last
