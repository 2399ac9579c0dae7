"""The Imports page: upload a file, watch it run, read what was wrong."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from coachloop.core.errors import CoachloopError, NotAllowed
from coachloop.ingest import selectors, services
from coachloop.ingest.forms import UploadForm
from coachloop.ingest.models import BatchStatus, ImportBatch

PROBLEMS_SHOWN = 200


def _require_importer(request: HttpRequest) -> None:
    try:
        services.import_check_allowed(request.user)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None


@login_required
@require_http_methods(["GET", "POST"])
def imports(request: HttpRequest) -> HttpResponse:
    _require_importer(request)
    mappings = selectors.mapping_list(user=request.user)
    form = UploadForm(request.POST or None, request.FILES or None, mappings=mappings)
    if request.method == "POST" and form.is_valid():
        try:
            batch = _start(request, form)
        except CoachloopError as exc:
            form.add_error(None, exc.message)
        except ValidationError as exc:  # the mapping file is not text
            form.add_error("mapping_file", exc)
        else:
            messages.success(request, _("Import queued: it runs in the background."))
            return redirect("ingest:batch", pk=batch.pk)
    return render(
        request,
        "ingest/imports.html",
        {
            "form": form,
            "batches": selectors.batch_list(user=request.user)[:100],
        },
    )


def _start(request: HttpRequest, form: UploadForm) -> ImportBatch:
    upload = form.cleaned_data["file"]
    mapping_text = form.mapping_text()
    if form.cleaned_data["save_mapping_as"] and mapping_text:
        services.mapping_save(
            name=form.cleaned_data["save_mapping_as"],
            kind=form.cleaned_data["kind"],
            text=mapping_text,
            by=request.user,
        )
    path = services.store_upload(name=upload.name, chunks=upload.chunks())
    batch = services.import_create(
        kind=form.cleaned_data["kind"],
        path=path,
        file_name=Path(upload.name).name,
        by=request.user,
        mapping_text=mapping_text,
        source=form.cleaned_data["source"] or None,
        on_error=form.cleaned_data["on_error"],
        dry_run=form.cleaned_data["dry_run"],
        create_missing_agents=form.cleaned_data["create_missing_agents"],
    )
    services.import_enqueue(batch=batch, by=request.user)
    return batch


@login_required
@require_GET
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.batch_get(user=request.user, pk=pk)
    template = "ingest/_batch_status.html" if request.htmx else "ingest/batch_detail.html"  # type: ignore[attr-defined]
    return render(
        request,
        template,
        {
            "batch": batch,
            "running": batch.status in (BatchStatus.QUEUED, BatchStatus.RUNNING),
            "problems": selectors.batch_problems(batch=batch)[:PROBLEMS_SHOWN],
        },
    )


@login_required
@require_GET
def batch_errors(request: HttpRequest, pk: int) -> FileResponse:
    return error_file_response(selectors.batch_get(user=request.user, pk=pk))


def error_file_response(batch: ImportBatch) -> FileResponse:
    """The batch's error file as a download (the page and the API answer the same way)."""
    if not batch.errors_path or not Path(batch.errors_path).is_file():
        raise Http404("This import has no error file")
    return FileResponse(
        Path(batch.errors_path).open("rb"),
        as_attachment=True,
        filename=f"import-{batch.pk}-errors.csv",
        content_type="text/csv",
    )
