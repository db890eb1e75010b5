"""Answer an unexpected exception with a 500 and keep the connection open for the next request.

Starlette's own `ServerErrorMiddleware` sends the 500 from the application's handler and then
raises the exception again, so that the server logs it; uvicorn, seeing an exception after a
response has started, closes the connection, and whatever the client sends next on that
keep-alive connection is lost. Here the exception is logged and answered, and not raised again.
Only an exception raised after the response has begun is passed on: that response is broken
and closing the connection is then the right thing to do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ErrorAnswer = Callable[[Request, Exception], Awaitable[Response]]


class AnswerServerErrors:
    """ASGI middleware: `answer(request, exc)` builds the response for an unexpected exception."""

    def __init__(self, app: ASGIApp, answer: ErrorAnswer) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            response = await self.answer(Request(scope, receive), exc)
            await response(scope, receive, send)
