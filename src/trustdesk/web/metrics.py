"""Prometheus metrics served at /metrics, and the middleware that counts and times requests."""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter("trustdesk_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "trustdesk_http_request_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INTAKE_ITEMS = Counter("trustdesk_intake_items_total", "Items received by intake", ["kind", "status"])

log = logging.getLogger("trustdesk.web")


class RequestMetrics:
    """Count and time each request by its route template, and log the ones answered 4xx or 5xx.

    A plain ASGI middleware: it passes the request body through untouched, so an error raised
    while the application reads it (a body over the limit) reaches the application's handlers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(scope["method"], path, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], path).observe(elapsed)
            if status >= 400:
                log.info("request", extra={"method": scope["method"], "path": path, "status": status, "ms": round(elapsed * 1000, 1)})
