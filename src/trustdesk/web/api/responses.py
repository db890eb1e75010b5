"""What an API operation answers when it refuses a request: one error body, documented once.

Every 4xx from /api/v1 has this shape (`trustdesk.web.app` writes it), so the OpenAPI document
declares it for every operation under `4XX` instead of FastAPI's default validation error,
which the API never sends.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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
