"""Client input is checked once, for every route, before any of it reaches a service.

`ClientInputRoute` is the route class of every router. Before FastAPI reads a request it checks
the headers, path and query parameters, the form fields and the JSON body against
`trustdesk.domain.client_input`, and answers 422 naming the first field that breaks a rule. A
JSON body is parsed with orjson, which stops at a fixed depth instead of exhausting the stack
and refuses text that is not valid Unicode; FastAPI then uses that parsed body.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from trustdesk.domain.client_input import NUL_MESSAGE, Location, has_nul, json_problem

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class _ClientRequest(Request):
    """A request whose JSON body is parsed with orjson, once."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class ClientInputRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def checked(request: Request) -> Response:
            request = _ClientRequest(request.scope, request.receive)
            problem = _in_headers(request) or _in_params(request) or await _in_body(request)
            if problem:
                location, message = problem
                raise RequestValidationError([{"type": "client_input", "loc": location, "msg": message, "input": None}])
            return await handle(request)

        return checked


def _in_headers(request: Request) -> tuple[Location, str] | None:
    for name, value in request.headers.raw:
        if b"\x00" in name or b"\x00" in value:
            return ("header", name.decode("latin-1")), NUL_MESSAGE
    return None


def _in_params(request: Request) -> tuple[Location, str] | None:
    for name, value in request.path_params.items():
        if isinstance(value, str) and has_nul(value):
            return ("path", name), NUL_MESSAGE
    for name, value in request.query_params.multi_items():
        if has_nul(name) or has_nul(value):
            return ("query", name), NUL_MESSAGE
    return None


async def _in_body(request: Request) -> tuple[Location, str] | None:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type.startswith(_FORMS):
        for name, value in (await request.form()).multi_items():
            if has_nul(name) or (not isinstance(value, UploadFile) and has_nul(value)):
                return ("form", name), NUL_MESSAGE
        return None
    if content_type == "application/json" or (content_type.startswith("application/") and content_type.endswith("+json")):
        body = await request.body()
        if not body:
            return None
        try:
            parsed = await request.json()
        except orjson.JSONDecodeError as exc:
            return ("body",), f"not valid JSON: {exc}"
        found = json_problem(parsed)
        return (("body", *found[0]), found[1]) if found else None
    return None
