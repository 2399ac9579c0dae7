"""A program's QA policy: how much is sampled and how long agents have to acknowledge."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from coachloop.core.errors import CoachloopError
from coachloop.org import selectors as org_selectors
from coachloop.quality import forms, selectors, services


@login_required
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    program = org_selectors.program_get(user=request.user, pk=pk)
    if not selectors.can_evaluate(user=request.user, program=program):
        # Leads and agents of the program have no business with QA policy; do not tell them.
        raise Http404("No such program")
    policy = selectors.policy_for(program)
    form = forms.PolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        try:
            services.qa_policy_set(
                program=program,
                by=request.user,
                **{name: form.cleaned_data[name] for name in services.POLICY_FIELDS},
            )
        except CoachloopError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, _("The QA policy of %(program)s is saved.") % {"program": program.name}
            )
            return redirect("quality:policy", pk=program.pk)
    return render(request, "quality/policy.html", {"program": program, "form": form})
