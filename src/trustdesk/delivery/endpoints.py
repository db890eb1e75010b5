"""An app's webhook endpoints: added with a fresh secret shown once, listed, removed.

URL rules: production (`TRUSTDESK_ENV=production`) takes only `https`, and not to an address
literal inside a network (loopback, private, link-local, multicast, reserved, unspecified): a
failed delivery's answer is shown on the console, so an endpoint must not read internal services
or a cloud's metadata. Development also takes plain `http` to this machine (loopback: the demo's
sandbox, the tests), never to anywhere else. A URL carries no user or password (the signature is
what authenticates). URLs are parsed with httpx, the sender's own parser, so a URL saved here is
one the sender can post to. Every change is audited; removing an endpoint cancels what was still
waiting for it.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.delivery.outbox import CANCELLED, ENDPOINTS_CACHE, PENDING
from trustdesk.delivery.signing import SecretBox, new_secret
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.store.models import App, OutboxMessage, WebhookEndpoint, utcnow

MAX_URL = 2000
MAX_PER_APP = 10


def check_url(url: str, *, production: bool) -> str:
    """The URL if deliveries may go there; otherwise a `FieldError` naming `url`."""
    url = url.strip()
    if not url or len(url) > MAX_URL:
        raise FieldError("url", f"give a URL of at most {MAX_URL} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise FieldError("url", "a URL has no spaces or control characters")
    try:
        parts = httpx.URL(url)
        host = parts.host  # decoding the host raises on a punycode label that does not decode
    except (httpx.InvalidURL, ValueError) as exc:  # idna's errors are UnicodeError, a ValueError
        raise FieldError("url", f"not a URL deliveries can be sent to: {exc}") from None
    if parts.port is not None and not 1 <= parts.port <= 65535:
        raise FieldError("url", "the port is not a number from 1 to 65535")
    if parts.scheme not in ("http", "https") or not host:
        raise FieldError("url", "give an absolute https:// URL")
    if parts.userinfo:
        raise FieldError("url", "no user or password in the URL: the signature authenticates each delivery")
    if parts.fragment:
        raise FieldError("url", "a URL to deliver to has no #fragment")
    if parts.scheme == "https":
        if production and _internal(host):
            raise FieldError("url", f"{host} is an address inside a network: in production deliveries go to public hosts only")
        return url
    if production:
        raise FieldError("url", "in production deliveries go over https only")
    if not _loopback(host):
        raise FieldError("url", "plain http goes only to this machine (127.0.0.1, ::1, localhost); use https")
    return url


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `host` spells, if it is a literal: also the short IPv4 forms (`127.1`,
    `2130706433`, `0x7f.1`) that the system's resolver reads as addresses without asking DNS."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _loopback(host: str) -> bool:
    address = _address(host)
    return host.lower() == "localhost" or (address is not None and address.is_loopback)


def _internal(host: str) -> bool:
    """Whether `host` is an address literal inside a network (an IPv4-mapped IPv6 address counts
    as its IPv4 address).

    Names are not resolved, so saving an endpoint needs no network: a name that resolves to an
    internal address is for the operator's network policy (egress rules) to block.
    """
    address = _address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address) and address in _NAT64:  # an IPv4 address behind a NAT64 gateway
        address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address is not None and (
        address.is_loopback or address.is_private or address.is_link_local
        or address.is_multicast or address.is_reserved or address.is_unspecified or address in _SHARED
    )


# Carrier-grade NAT space (RFC 6598), where some clouds keep their metadata service
# (100.100.100.200), and the well-known NAT64 prefix (RFC 6052).
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def add_endpoint(
    session: Session, actor: Actor, box: SecretBox, app: App, url: str, *, production: bool, secret: str | None = None
) -> tuple[WebhookEndpoint, str]:
    """Register a receiver for the app's events; returns it and its secret, which is not kept in clear.

    `secret` is for the demo, whose sandbox must know it in advance; otherwise a fresh one is made.
    """
    checked = check_url(url, production=production)
    # Adds for one app take turns on its row, so two at once cannot both pass the count below.
    session.execute(select(App.id).where(App.id == app.id).with_for_update())
    active = session.execute(
        select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.app_id == app.id, WebhookEndpoint.active.is_(True))
    ).scalar_one()
    if active >= MAX_PER_APP:
        raise FieldError("app", f"{app.slug} has {MAX_PER_APP} endpoints already; remove one first")
    secret = secret or new_secret()
    endpoint = WebhookEndpoint(app_id=app.id, url=checked, secret_encrypted=box.seal(secret), active=True,
                               created_by=actor.label, created_at=utcnow())
    session.add(endpoint)
    session.flush()
    session.info.pop(ENDPOINTS_CACHE, None)
    record(session, actor=actor, verb="webhook_endpoint.added", object_type="webhook_endpoint", object_id=endpoint.id,
           after={"app": app.slug, "url": checked})
    return endpoint, secret


def remove_endpoint(session: Session, actor: Actor, endpoint_id: int) -> int:
    """Stop delivering to an endpoint; its waiting deliveries are cancelled. Returns how many."""
    endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint is None:
        raise NotFound("endpoint_id", f"no webhook endpoint {endpoint_id}")
    if not endpoint.active:
        raise Conflict("endpoint_id", f"webhook endpoint {endpoint_id} was already removed")
    endpoint.active, endpoint.removed_at = False, utcnow()
    cancelled = session.execute(
        update(OutboxMessage).where(OutboxMessage.endpoint_id == endpoint_id, OutboxMessage.state == PENDING)
        .values(state=CANCELLED, claimed_until=None)
    ).rowcount
    session.info.pop(ENDPOINTS_CACHE, None)
    record(session, actor=actor, verb="webhook_endpoint.removed", object_type="webhook_endpoint", object_id=endpoint.id,
           before={"active": True, "url": endpoint.url}, after={"active": False, "cancelled_deliveries": cancelled})
    return int(cancelled)


@dataclass(frozen=True)
class EndpointView:
    id: int
    app: str
    url: str
    active: bool
    created_by: str
    created_at: datetime
    removed_at: datetime | None
    counts: dict[str, int]  # delivery state → rows


def listing(session: Session, *, include_removed: bool = False) -> list[EndpointView]:
    """Every endpoint (active ones first), with how many of its deliveries are in each state."""
    query = select(WebhookEndpoint, App.slug).join(App, App.id == WebhookEndpoint.app_id)
    if not include_removed:
        query = query.where(WebhookEndpoint.active.is_(True))
    rows = session.execute(query.order_by(WebhookEndpoint.active.desc(), App.slug, WebhookEndpoint.id)).all()
    counts: dict[int, dict[str, int]] = {}
    if rows:
        for endpoint_id, state, count in session.execute(
            select(OutboxMessage.endpoint_id, OutboxMessage.state, func.count())
            .where(OutboxMessage.endpoint_id.in_([e.id for e, _ in rows]))
            .group_by(OutboxMessage.endpoint_id, OutboxMessage.state)
        ):
            counts.setdefault(endpoint_id, {})[state] = count
    return [
        EndpointView(e.id, slug, e.url, e.active, e.created_by, e.created_at, e.removed_at, counts.get(e.id, {}))
        for e, slug in rows
    ]


def app_named(session: Session, slug: str) -> App:
    app = session.execute(select(App).where(App.slug == slug)).scalar_one_or_none()
    if app is None:
        raise NotFound("app", f"no app {slug!r}")
    return app
