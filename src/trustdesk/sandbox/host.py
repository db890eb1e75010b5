"""The host platform's side of action delivery: a webhook receiver to deliver to and watch.

`POST /hooks/{endpoint}` takes Standard Webhooks deliveries and checks them with the
`standardwebhooks` package — headers `webhook-id`, `webhook-timestamp` (at most five minutes
off) and `webhook-signature`, each `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the
endpoint's `whsec_` secret — so a delivery it accepts meets the protocol, whoever signed it.
Then the body must be the envelope `{"type": str, "timestamp": ISO 8601, "data": {...}}`.

Answers: 200 accepted (or a repeat of a `webhook-id` already accepted: answered 200 again,
counted as a duplicate, not as a new event); 401 bad or missing signature or a stale timestamp;
400 a signed body that is no envelope; 413 a body over 1 MiB; 404 no such endpoint. When
`data.sequence` (an integer) and `data.subject` (`{"kind", "external_id"}`) are given, an event
whose sequence is not above the highest seen for that subject is kept but flagged stale, as a
receiver would ignore it.

The control API makes an endpoint misbehave for a while, as real receivers do:
- `POST /control/fail {"endpoint", "status": 503, "seconds": 30}` or `{"count": N}` (or both,
  whichever runs out first): deliveries are answered with that status and not taken in;
- `POST /control/hang {"endpoint", "seconds": 10}`: deliveries are read but get no answer until
  then, so the sender's timeout fires; each is then handled as usual, as by a receiver that did
  the work but whose answer came too late, so the sender's retry arrives as a duplicate;
- `POST /control/recover {"endpoint"}` ends both; `POST /control/endpoints {"name", "secret"}`
  adds an endpoint or replaces its secret.
`GET /control/events?endpoint=NAME` gives an endpoint's counts and every accepted event in
order; `/` is a page of the same. The state lives in memory behind one lock. The control routes
and the page answer loopback clients only.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import logging
import re
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment
from pydantic import AfterValidator, BaseModel, Field, model_validator
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.requests import ClientDisconnect

MAX_BODY_BYTES = 1024 * 1024
KEPT_REFUSALS = 100
PAGE_EVENTS = 100
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_SECRET_PREFIX = "whsec_"

log = logging.getLogger(__name__)


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError("an endpoint name is 1-64 letters, digits, '.', '_' or '-'")
    return name


def check_secret(secret: str) -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of at least one byte."""
    encoded = secret.removeprefix(_SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        key = b""
    if not secret.startswith(_SECRET_PREFIX) or not key:
        raise ValueError("a secret is whsec_ followed by base64")
    return secret


def parse_endpoint_option(option: str) -> tuple[str, str]:
    """`NAME=whsec_SECRET` from the command line."""
    name, sep, secret = option.partition("=")
    if not sep:
        raise ValueError(f"expected NAME=whsec_SECRET, got {option!r}")
    return check_name(name), check_secret(secret)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class Event:
    webhook_id: str
    type: str
    timestamp: str
    data: dict[str, Any]
    received_at: str
    stale: bool


@dataclass
class Refusal:
    webhook_id: str | None
    status: int
    reason: str
    at: str


@dataclass
class Outage:
    """An injected failure: answer `status` until `until` (monotonic) or for `remaining` more deliveries."""

    status: int
    until: float | None
    remaining: int | None

    def active(self, now: float) -> bool:
        return (self.until is None or now < self.until) and (self.remaining is None or self.remaining > 0)


@dataclass
class Endpoint:
    name: str
    webhook: Webhook
    events: list[Event] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    latest: dict[tuple[str, str], int] = field(default_factory=dict)
    duplicates: int = 0
    stale: int = 0
    refused: int = 0
    failed: int = 0
    refusals: deque[Refusal] = field(default_factory=lambda: deque(maxlen=KEPT_REFUSALS))
    outage: Outage | None = None
    hang_until: float = 0.0

    def summary(self, events: list[Event]) -> dict[str, Any]:
        now = time.monotonic()
        outage = self.outage if self.outage and self.outage.active(now) else None
        return {
            "endpoint": self.name,
            "accepted": len(self.events),
            "duplicates": self.duplicates,
            "stale": self.stale,
            "refused": self.refused,
            "failed": self.failed,
            "failing": None if outage is None else {
                "status": outage.status,
                "seconds_left": None if outage.until is None else round(outage.until - now, 1),
                "count_left": outage.remaining,
            },
            "hanging_seconds_left": round(self.hang_until - now, 1) if self.hang_until > now else None,
            "events": [asdict(event) for event in events],
            "refusals": [asdict(refusal) for refusal in self.refusals],
        }


class UnknownEndpoint(LookupError):
    pass


class HostState:
    """Every endpoint's deliveries and misbehaviour, in memory; one lock guards all of it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._endpoints: dict[str, Endpoint] = {}

    def _get(self, name: str) -> Endpoint:
        endpoint = self._endpoints.get(name)
        if endpoint is None:
            raise UnknownEndpoint(name)
        return endpoint

    def add_endpoint(self, name: str, secret: str) -> bool:
        """Add an endpoint, or give an existing one a new secret (its events stay); True when new."""
        webhook = Webhook(check_secret(secret))
        with self._lock:
            endpoint = self._endpoints.get(check_name(name))
            if endpoint is not None:
                endpoint.webhook = webhook
                return False
            self._endpoints[name] = Endpoint(name, webhook)
            return True

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._endpoints)

    def hang_seconds(self, name: str) -> float:
        with self._lock:
            return max(0.0, self._get(name).hang_until - time.monotonic())

    def take_failure(self, name: str) -> int | None:
        """The status to fail this delivery with, if the endpoint is failing on purpose."""
        with self._lock:
            endpoint = self._get(name)
            outage = endpoint.outage
            if outage is None or not outage.active(time.monotonic()):
                return None
            if outage.remaining is not None:
                outage.remaining -= 1
            endpoint.failed += 1
            return outage.status

    def verify(self, name: str, body: bytes, headers: dict[str, str]) -> None:
        with self._lock:
            webhook = self._get(name).webhook
        webhook.verify(body, headers, json_parse=False)

    def refuse(self, name: str, webhook_id: str | None, status: int, reason: str) -> None:
        with self._lock:
            endpoint = self._get(name)
            endpoint.refused += 1
            endpoint.refusals.append(Refusal(None if webhook_id is None else webhook_id[:200], status, reason, _now()))

    def accept(self, name: str, webhook_id: str, envelope: dict[str, Any]) -> str:
        """Take in a verified delivery: 'accepted', 'stale' (kept, flagged) or 'duplicate' (dropped)."""
        data = envelope["data"]
        subject, sequence = data.get("subject"), data.get("sequence")
        with self._lock:
            endpoint = self._get(name)
            if webhook_id in endpoint.seen:
                endpoint.duplicates += 1
                return "duplicate"
            endpoint.seen.add(webhook_id)
            stale = False
            if subject is not None and sequence is not None:
                key = (subject["kind"], subject["external_id"])
                latest = endpoint.latest.get(key)
                stale = latest is not None and sequence <= latest
                if not stale:
                    endpoint.latest[key] = sequence
            endpoint.stale += stale
            endpoint.events.append(Event(webhook_id, envelope["type"], envelope["timestamp"], data, _now(), stale))
            return "stale" if stale else "accepted"

    def fail(self, name: str, status: int, seconds: float | None, count: int | None) -> None:
        with self._lock:
            until = None if seconds is None else time.monotonic() + seconds
            self._get(name).outage = Outage(status, until, count)

    def hang(self, name: str, seconds: float) -> None:
        with self._lock:
            self._get(name).hang_until = time.monotonic() + seconds

    def recover(self, name: str) -> None:
        with self._lock:
            endpoint = self._get(name)
            endpoint.outage = None
            endpoint.hang_until = 0.0

    def snapshot(self, name: str, last: int | None = None) -> dict[str, Any]:
        """Counts and accepted events (all in order, or the `last` ones newest first)."""
        with self._lock:
            endpoint = self._get(name)
            events = endpoint.events if last is None else endpoint.events[max(0, len(endpoint.events) - last):][::-1]
            return endpoint.summary(events)


def envelope_problem(body: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """The envelope in `body`, or what is wrong with it."""
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        return None, "the body is not JSON"
    if not isinstance(envelope, dict):
        return None, "the body is not a JSON object"
    if not isinstance(envelope.get("type"), str) or not envelope["type"]:
        return None, "type must be a non-empty string"
    try:
        datetime.fromisoformat(envelope.get("timestamp"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None, "timestamp must be an ISO 8601 date and time"
    data = envelope.get("data")
    if not isinstance(data, dict):
        return None, "data must be an object"
    sequence = data.get("sequence")
    if sequence is not None and (not isinstance(sequence, int) or isinstance(sequence, bool)):
        return None, "data.sequence must be an integer"
    subject = data.get("subject")
    if subject is not None and not (
        isinstance(subject, dict) and isinstance(subject.get("kind"), str) and isinstance(subject.get("external_id"), str)
    ):
        return None, "data.subject must be an object with kind and external_id strings"
    return envelope, None


class EndpointIn(BaseModel):
    name: Annotated[str, AfterValidator(check_name)]
    secret: Annotated[str, AfterValidator(check_secret)]


class Target(BaseModel):
    endpoint: str


class FailIn(Target):
    status: int = Field(503, ge=400, le=599)
    seconds: float | None = Field(None, gt=0, le=86_400)
    count: int | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _limited(self) -> FailIn:
        if self.seconds is None and self.count is None:
            raise ValueError("give seconds, count or both")
        return self


class HangIn(Target):
    seconds: float = Field(gt=0, le=600)


def loopback_only(request: Request) -> None:
    """The control routes and the page are for the machine the sandbox runs on."""
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise HTTPException(403, "the sandbox's control routes answer loopback clients only")


async def _read_body(request: Request) -> bytes | None:
    """The whole body, or None when it is over the limit or the sender left before sending it."""
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None
            chunks.append(chunk)
    except ClientDisconnect:
        return None
    return b"".join(chunks)


_PAGE = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>Host-platform sandbox</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}td:first-child{white-space:nowrap}code{font-size:12px}
.stale{color:#888}.warn{color:#a40}</style></head><body>
<h1>Host-platform sandbox</h1>
<p>Deliveries go to <code>POST /hooks/NAME</code>. This page refreshes every two seconds.</p>
{% for e in endpoints %}
<section><h2>{{ e.endpoint }}</h2>
<p>accepted <b>{{ e.accepted }}</b> · duplicates <b>{{ e.duplicates }}</b> · stale <b>{{ e.stale }}</b>
 · refused <b>{{ e.refused }}</b> · failed on purpose <b>{{ e.failed }}</b>
{% if e.failing %}<span class="warn"> · failing with {{ e.failing.status }}</span>{% endif %}
{% if e.hanging_seconds_left %}<span class="warn"> · hanging {{ e.hanging_seconds_left }} s more</span>{% endif %}</p>
<table><tr><th>received</th><th>webhook-id</th><th>type</th><th>data</th></tr>
{% for ev in e.events %}<tr{% if ev.stale %} class="stale"{% endif %}><td>{{ ev.received_at }}</td><td><code>{{ ev.webhook_id }}</code></td>
<td>{{ ev.type }}{% if ev.stale %} (stale){% endif %}</td><td><code>{{ ev.data | tojson }}</code></td></tr>
{% else %}<tr><td colspan="4">nothing yet</td></tr>{% endfor %}</table>
{% if e.refusals %}<table><tr><th>refused</th><th>webhook-id</th><th>status</th><th>why</th></tr>
{% for r in e.refusals | reverse %}<tr><td>{{ r.at }}</td><td><code>{{ r.webhook_id }}</code></td><td>{{ r.status }}</td><td>{{ r.reason }}</td></tr>{% endfor %}
</table>{% endif %}</section>
{% else %}<p>No endpoints yet: start with <code>--endpoint NAME=whsec_…</code> or
<code>POST /control/endpoints</code>.</p>{% endfor %}
</body></html>""")


def create_host_app(state: HostState) -> FastAPI:
    app = FastAPI(title="TrustDesk host-platform sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    control = [Depends(loopback_only)]

    @app.exception_handler(UnknownEndpoint)
    def _unknown(request: Request, exc: UnknownEndpoint) -> JSONResponse:
        return JSONResponse({"detail": f"no endpoint named {str(exc)[:64]!r}", "field": "endpoint"}, 404)

    @app.post("/hooks/{name}")
    async def deliver(name: str, request: Request) -> JSONResponse:
        webhook_id = request.headers.get("webhook-id")
        body = await _read_body(request)
        if body is None:
            state.refuse(name, webhook_id, 413, "body over the size limit, or not sent in full")
            return JSONResponse({"detail": "body too large"}, 413)
        delay = state.hang_seconds(name)
        if delay:
            await asyncio.sleep(delay)
        failure = state.take_failure(name)
        if failure is not None:
            return JSONResponse({"detail": "failing on purpose"}, failure)
        try:
            state.verify(name, body, dict(request.headers))
        except WebhookVerificationError as exc:
            state.refuse(name, webhook_id, 401, str(exc))
            log.warning("refused a delivery to %s: %s", name, exc)
            return JSONResponse({"detail": f"signature check failed: {exc}"}, 401)
        envelope, problem = envelope_problem(body)
        if envelope is None:
            state.refuse(name, webhook_id, 400, str(problem))
            log.warning("refused a delivery to %s: %s", name, problem)
            return JSONResponse({"detail": problem}, 400)
        outcome = state.accept(name, str(webhook_id), envelope)
        log.info("%s %s %s for %s", outcome, envelope["type"], webhook_id, name)
        return JSONResponse({"outcome": outcome}, 200)

    @app.post("/control/endpoints", dependencies=control)
    def add_endpoint(spec: EndpointIn) -> JSONResponse:
        created = state.add_endpoint(spec.name, spec.secret)
        return JSONResponse({"endpoint": spec.name, "created": created}, 201 if created else 200)

    @app.post("/control/fail", dependencies=control)
    def fail(spec: FailIn) -> dict[str, Any]:
        state.fail(spec.endpoint, spec.status, spec.seconds, spec.count)
        return state.snapshot(spec.endpoint, last=0)

    @app.post("/control/hang", dependencies=control)
    def hang(spec: HangIn) -> dict[str, Any]:
        state.hang(spec.endpoint, spec.seconds)
        return state.snapshot(spec.endpoint, last=0)

    @app.post("/control/recover", dependencies=control)
    def recover(spec: Target) -> dict[str, Any]:
        state.recover(spec.endpoint)
        return state.snapshot(spec.endpoint, last=0)

    @app.get("/control/events", dependencies=control)
    def events(endpoint: Annotated[str, Query()]) -> dict[str, Any]:
        return state.snapshot(endpoint)

    @app.get("/", dependencies=control, response_class=HTMLResponse)
    def page() -> str:
        return _PAGE.render(endpoints=[state.snapshot(name, last=PAGE_EVENTS) for name in state.names()])

    return app


def run_host(host: str, port: int, endpoints: list[tuple[str, str]]) -> None:
    """Serve the sandbox until interrupted."""
    state = HostState()
    for name, secret in endpoints:
        state.add_endpoint(name, secret)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    print(f"host-platform sandbox on http://{host}:{port}/ ; deliver to /hooks/NAME ({', '.join(state.names()) or 'no endpoints yet'})")
    uvicorn.run(create_host_app(state), host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
