"""Scorecards: the list with the JSON import, one scorecard with its versions, the export."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from coachloop.core.errors import CoachloopError
from coachloop.quality import forms, selectors, services
from coachloop.quality.views.common import (
    detail_text,
    is_qa_staff,
    require,
)

# --- scorecards --------------------------------------------------------------------------------


def _can_import(request: HttpRequest) -> bool:
    return is_qa_staff(request)


@login_required
@require_http_methods(["GET", "POST"])
def scorecard_list(request: HttpRequest) -> HttpResponse:
    form = forms.ScorecardImportForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    if request.method == "POST":
        require(
            _can_import(request), _("Only QA analysts, managers and org admins import scorecards.")
        )
        if form.is_valid():
            try:
                scorecard, created = services.scorecard_import(
                    document=form.document, by=request.user
                )
            except CoachloopError as exc:
                form.add_error(None, exc.message)
                problems = [f"{d.column or _('(the file)')}: {detail_text(d)}" for d in exc.details]
            else:
                message = (
                    _("Imported %(name)s.")
                    if created
                    else _("%(name)s is already here, unchanged.")
                ) % {"name": str(scorecard)}
                messages.success(request, message)
                return redirect("quality:scorecard", pk=scorecard.pk)
    scorecards = selectors.scorecard_list(user=request.user).annotate(
        n_criteria=Count("criteria", distinct=True),
        n_evaluations=Count("evaluations", distinct=True),
    )
    return render(
        request,
        "quality/scorecards.html",
        {
            "scorecards": scorecards,
            "form": form,
            "problems": problems,
            "can_import": _can_import(request),
        },
    )


@login_required
@require_GET
def scorecard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scorecard = selectors.scorecard_get(user=request.user, pk=pk)
    criteria = selectors.scorecard_criteria(scorecard)
    total = sum(c.weight for c in criteria) or 1.0
    sections: list[dict[str, Any]] = []
    for criterion in criteria:
        if not sections or sections[-1]["section"].pk != criterion.section_id:
            sections.append({"section": criterion.section, "rows": []})
        sections[-1]["rows"].append({"criterion": criterion, "share": criterion.weight / total})
    return render(
        request,
        "quality/scorecard.html",
        {
            "scorecard": scorecard,
            "sections": sections,
            "n_criteria": len(criteria),
            "versions": selectors.scorecard_list(user=request.user)
            .filter(key=scorecard.key)
            .annotate(n_evaluations=Count("evaluations"))
            .order_by("-version"),
        },
    )


@login_required
@require_GET
def scorecard_export(request: HttpRequest, pk: int) -> HttpResponse:
    scorecard = selectors.scorecard_get(user=request.user, pk=pk)
    body = json.dumps(selectors.scorecard_document(scorecard), indent=2, ensure_ascii=False)
    response = HttpResponse(body + "\n", content_type="application/json; charset=utf-8")
    filename = f"{scorecard.key}-v{scorecard.version}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
