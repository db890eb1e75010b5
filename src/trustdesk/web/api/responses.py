"""What an API operation answers when it refuses a request: one error body, documented once.

Every 4xx from /api/v1 has this shape (`trustdesk.web.app` writes it), so the OpenAPI document
declares it for every operation under `4XX` instead of FastAPI's default validation error,
which the API never sends. Each API module's router is made by `api_router`, which says so.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from trustdesk.web.client_input import ClientInputRoute


class FieldMessage(BaseModel):
    field: str = Field(description="Path of the field, e.g. `items[3].country`, or `body`")
    message: str


class ErrorOut(BaseModel):
    detail: str = Field(description="What is wrong, starting with the field at fault")
    field: str | None = Field(description="Path of the field at fault; null when the request as a whole is refused")
    errors: list[FieldMessage] | None = Field(default=None, description="Invalid input (422): every field at fault")


CLIENT_ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorOut, "description": "Refused: not authenticated or allowed, not found, a conflict, or invalid input"},
}


def api_router(tag: str, prefix: str = "/api/v1") -> APIRouter:
    """A router of API operations under one tag: client input checked (`ClientInputRoute`),
    refusals documented (`CLIENT_ERRORS`)."""
    return APIRouter(prefix=prefix, tags=[tag], route_class=ClientInputRoute, responses=CLIENT_ERRORS)
