"""Server-sent events are read to the end of the body, even when the last event lacks its blank line."""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.chat import sse


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _events(*parts: bytes) -> list[tuple[str, str]]:
    return [(event.event, event.data) async for event in sse.events(_chunks(*parts))]


async def test_events_split_across_chunks_are_put_back_together() -> None:
    events = await _events(
        b"event: ping\nda", b"ta: {}\n\nevent: message_stop\r\n", b'data: {"a": 1}\r\n\r\n'
    )
    assert events == [("ping", "{}"), ("message_stop", '{"a": 1}')]


async def test_a_last_event_without_its_blank_line_is_not_lost() -> None:
    events = await _events(b"event: message_delta\ndata: {}\n\n", b'event: message_stop\ndata: {"type": 1}\n')
    assert events[-1] == ("message_stop", '{"type": 1}')
    unterminated = await _events(b"event: message_stop\ndata: {}")
    assert unterminated == [("message_stop", "{}")]


async def test_comments_are_skipped_and_data_lines_join() -> None:
    assert await _events(b": keep-alive\n\nevent: x\ndata: a\ndata: b\n\n") == [("x", "a\nb")]
