"""An ASGI middleware that caps request bodies at `CF_MAX_REQUEST_BODY_BYTES`, counting bytes as they arrive.

A declared Content-Length over the cap is refused before a byte of the body is read. Without one (chunked
transfer encoding) the bytes are counted chunk by chunk, and the request is refused as soon as the count
passes the cap: the app never holds more than the cap plus one chunk of any body. Either way the answer is
413 with a JSON `detail` naming the cap and the setting, in the shape of the app's other errors.

Starlette's own `max_body_size` does the counting too, but answers plain text "Content Too Large" that
names neither the limit nor the setting, so the app keeps this one.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """Raised from `receive` once the body passed the cap; whatever the app answers instead is dropped."""


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _reply(self) -> tuple[Message, Message]:
        body = json.dumps(
            {
                "detail": f"request body too large: at most {self.max_bytes} bytes "
                "(CF_MAX_REQUEST_BODY_BYTES); nothing was stored"
            }
        ).encode()
        start: Message = {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
        return start, {"type": "http.response.body", "body": body}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            for message in self._reply():
                await send(message)
            return

        received = 0
        exceeded = False
        response_started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded and not response_started:
                return  # the app's answer to the interrupted read (a 400 from FastAPI, say) is replaced
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            if response_started:
                raise
        if exceeded and not response_started:
            for message in self._reply():
                await send(message)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
