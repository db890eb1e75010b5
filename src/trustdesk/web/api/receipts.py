"""How intake endpoints answer: a receipt (201 new, 200 identical retry) or a batch of them,
counted in the intake metrics either way."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from trustdesk.ingest.schemas import Receipt, Receipts
from trustdesk.web import metrics

# Documented beside the 201 of a single-item intake operation.
RETRY: dict[int | str, dict[str, Any]] = {200: {"model": Receipt, "description": "An identical retry: the original receipt"}}


def single(kind: str, receipt: Receipt, response: Response) -> Receipt:
    metrics.INTAKE_ITEMS.labels(kind, receipt.status).inc()
    if receipt.status == "existing":
        response.status_code = 200
    return receipt


def batch(kind: str, receipts: list[Receipt]) -> Receipts:
    for status in ("created", "existing"):
        metrics.INTAKE_ITEMS.labels(kind, status).inc(sum(r.status == status for r in receipts))
    return Receipts(items=receipts)
