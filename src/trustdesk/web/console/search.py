"""The console's search box: `GET /search?q=`, on every page (`trustdesk.search.finding`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from trustdesk.domain.errors import FieldError
from trustdesk.search.finding import MAX_QUERY, HitKind, search
from trustdesk.store.models import MAX_BIGINT
from trustdesk.web.client_input import ClientInputRoute
from trustdesk.web.console.views import render
from trustdesk.web.permissions import COMMITTED, StaffContext, staff_with

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)


@router.get("/search")
def search_page(
    request: Request, q: str = "", kind: str = "", page: int = Query(1, ge=1, le=MAX_BIGINT),
    who: StaffContext = Depends(staff_with()), session: Session = COMMITTED,
) -> Response:
    """Results a page at a time; a first page that found exactly one thing by id goes straight to it."""
    context = {"who": who, "q": q, "kind": kind, "kinds": list(HitKind), "max_query": MAX_QUERY}
    try:
        if kind and kind not in {k.value for k in HitKind}:
            raise FieldError("kind", f"one of {', '.join(HitKind)}, or none for everything")
        found = search(session, who.actor, who.reviewer, q, HitKind(kind) if kind else None, page)
    except FieldError as exc:
        return render(request, "search.html", context | {"error": exc.message, "found": None}, status_code=422)
    if found.only_exact:
        return RedirectResponse(found.only_exact.url, status_code=303)
    return render(request, "search.html", context | {"found": found, "error": None})
