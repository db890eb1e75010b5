"""Webhook endpoints and their deliveries, for admins: add (the secret is answered once), list,
remove; the dead-letter list with retry and cancel. The protocol itself is in the API's description."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trustdesk.delivery import endpoints, outbox
from trustdesk.delivery.signing import SecretBox
from trustdesk.domain.client_input import RowId
from trustdesk.domain.roles import ADMINS
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = api_router("webhooks", prefix="/api/v1/webhooks")
State = Literal["pending", "delivered", "dead", "cancelled"]


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    app: str = Field(min_length=1, max_length=64, description="The app whose events go to this endpoint.")
    url: str = Field(min_length=1, max_length=endpoints.MAX_URL,
                     description="https (in development also http to 127.0.0.1, ::1 or localhost).")


class EndpointOut(BaseModel):
    id: int
    app: str
    url: str
    active: bool
    created_by: str
    created_at: datetime
    removed_at: datetime | None
    deliveries: dict[str, int] = Field(description="How many of its deliveries are in each state.")

    @classmethod
    def of(cls, view: endpoints.EndpointView) -> EndpointOut:
        return cls(**{name: getattr(view, name) for name in cls.model_fields if name != "deliveries"}, deliveries=view.counts)


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The signing secret (whsec_…), shown this once: store it in the receiver.")


class RemovedOut(BaseModel):
    id: int
    cancelled_deliveries: int


def _box(request: Request) -> SecretBox:
    return SecretBox(request.app.state.settings.secret_key)


@router.get("", response_model=list[EndpointOut])
def list_endpoints(
    removed: bool = Query(default=False, description="Include removed endpoints."),
    _who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session),
) -> list[EndpointOut]:
    return [EndpointOut.of(v) for v in endpoints.listing(session, include_removed=removed)]


@router.post("", response_model=EndpointCreated, status_code=201)
def add_endpoint(
    request: Request, body: EndpointIn, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED,
) -> EndpointCreated:
    """Deliver an app's action events to `url`; the answer carries the signing secret, once."""
    production = request.app.state.settings.is_production
    endpoint, secret = endpoints.add_endpoint(
        session, who.actor, _box(request), endpoints.app_named(session, body.app), body.url, production=production
    )
    [view] = [v for v in endpoints.listing(session) if v.id == endpoint.id]
    return EndpointCreated(**EndpointOut.of(view).model_dump(), secret=secret)


@router.delete("/{endpoint_id}", response_model=RemovedOut)
def remove_endpoint(endpoint_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> RemovedOut:
    """Stop delivering there; deliveries still waiting are cancelled (they can be retried from the list)."""
    return RemovedOut(id=endpoint_id, cancelled_deliveries=endpoints.remove_endpoint(session, who.actor, endpoint_id))


@router.get("/deliveries", response_model=list[outbox.DeliveryView])
def list_deliveries(
    state: State | None = Query(default=None, description="dead: the dead-letter list."),
    before: RowId | None = Query(default=None, description="Page on: the smallest id of the previous page."),
    limit: int = Query(default=100, ge=1, le=500),
    who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = Depends(read_session),
) -> list[outbox.DeliveryView]:
    """Deliveries newest first, leaving out those about subjects you may not see."""
    return [d for d in outbox.deliveries(session, who.reviewer, state=state, before=before, limit=limit)]


@router.post("/deliveries/{delivery_id}/retry", response_model=outbox.DeliveryView)
def retry_delivery(delivery_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> outbox.DeliveryView:
    """Send a dead or cancelled delivery again now, with a fresh day of retries (409 otherwise)."""
    outbox.retry(session, who.actor, who.reviewer, delivery_id)
    return outbox.delivery(session, who.reviewer, delivery_id)


@router.post("/deliveries/{delivery_id}/cancel", response_model=outbox.DeliveryView)
def cancel_delivery(delivery_id: RowId, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> outbox.DeliveryView:
    """Give up on a dead or pending delivery (409 otherwise); it stays on record."""
    outbox.cancel(session, who.actor, who.reviewer, delivery_id)
    return outbox.delivery(session, who.reviewer, delivery_id)
