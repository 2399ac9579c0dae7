"""The contacts behind a number: a filterable list and one contact's facts."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from coachloop.interactions import selectors
from coachloop.org import selectors as org_selectors

_BOOLEANS = (
    "resolved",
    "outcome_known",
    "timed",
    "answered",
    "transferred",
    "escalated",
    "surveyed",
    "csat_top2",
)
_TEXTS = ("call_type", "queue", "channel")
_IDS = ("agent", "team", "program")


def _filters(request: HttpRequest) -> tuple[selectors.InteractionFilters, list[str]]:
    """The filters in the query string; a value that does not parse is named and ignored."""
    values: dict[str, object] = {}
    problems: list[str] = []
    for name in _IDS:
        raw = request.GET.get(name, "")
        if raw:
            if raw.isdigit():
                values[name] = int(raw)
            else:
                problems.append(f"{name}: '{raw}' is not an id")
    for name in ("start", "end"):
        raw = request.GET.get(name, "")
        if raw:
            try:
                values[name] = dt.date.fromisoformat(raw)
            except ValueError:
                problems.append(f"{name}: '{raw}' is not a date YYYY-MM-DD")
    for name in _TEXTS:
        if request.GET.get(name):
            values[name] = request.GET[name]
    for name in _BOOLEANS:
        raw = request.GET.get(name, "").lower()
        if raw in ("true", "1", "yes"):
            values[name] = True
        elif raw in ("false", "0", "no"):
            values[name] = False
        elif raw:
            problems.append(f"{name}: '{raw}' is not true or false")
    return selectors.InteractionFilters(**values), problems  # type: ignore[arg-type]


@login_required
@require_GET
def interaction_list(request: HttpRequest) -> HttpResponse:
    filters, problems = _filters(request)
    contacts = selectors.interaction_list(user=request.user, filters=filters)
    page = Paginator(contacts, 50).get_page(request.GET.get("page"))
    agent = org_selectors.person_get(user=request.user, pk=filters.agent) if filters.agent else None
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "interactions/list.html",
        {
            "page": page,
            "filters": filters,
            "problems": problems,
            "agent": agent,
            "query": query.urlencode(),
            "active_filters": [(k, v) for k, v in request.GET.items() if k != "page" and v],
        },
    )


@login_required
@require_GET
def interaction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.interaction_get(user=request.user, pk=pk)
    return render(request, "interactions/detail.html", {"contact": contact})
