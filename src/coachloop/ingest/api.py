"""``/api/v1/imports`` and ``/api/v1/mappings``: the same imports as the command and the page.

No ``from __future__ import annotations``: django-ninja reads these annotations at run time."""

import datetime as dt
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from django.urls import reverse
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from coachloop.core.errors import InvalidInput
from coachloop.core.pagination import LimitOffset
from coachloop.ingest import selectors, services
from coachloop.ingest.models import ImportBatch, OnError, SavedMapping
from coachloop.ingest.views import error_file_response

router = Router(tags=["imports"])
PROBLEMS_IN_ANSWER = 100


class ImportAccepted(Schema):
    id: int
    status: str


class ProblemOut(Schema):
    row: int | None
    column: str
    value: str
    expected: str
    warning: bool = Field(alias="is_warning")


class ImportOut(Schema):
    id: int
    kind: str
    status: str
    file_name: str
    source: str
    dry_run: bool
    on_error: str
    progress: float
    progress_text: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    seconds: float | None
    counts: dict[str, int]
    unmapped_columns: list[str]
    error: str
    error_file_url: str | None
    problems: list[ProblemOut]

    @staticmethod
    def resolve_progress(batch: ImportBatch) -> float:
        if batch.finished_at:
            return 1.0
        return batch.job.progress if batch.job else 0.0

    @staticmethod
    def resolve_progress_text(batch: ImportBatch) -> str:
        return batch.job.progress_text if batch.job and not batch.finished_at else ""

    @staticmethod
    def resolve_counts(batch: ImportBatch) -> dict[str, int]:
        return {
            "read": batch.rows_read,
            "written": batch.rows_inserted,
            "updated": batch.rows_updated,
            "unchanged": batch.rows_unchanged,
            "rejected": batch.rows_rejected,
            "warnings": batch.warnings,
        }

    @staticmethod
    def resolve_error_file_url(batch: ImportBatch) -> str | None:
        if not batch.errors_path:
            return None
        return reverse("api-v1:import_errors", kwargs={"import_id": batch.pk})

    @staticmethod
    def resolve_problems(batch: ImportBatch) -> list[Any]:
        # Lists leave problems out; the answer about one import has the first hundred.
        return getattr(batch, "problems_shown", [])


class MappingIn(Schema):
    name: str
    kind: str
    text: str = Field(description="The mapping file (TOML)")


class MappingOut(Schema):
    id: int
    name: str
    kind: str
    source: str
    text: str


@router.post("/imports", response={202: ImportAccepted}, summary="Start an import")
def import_start(
    request: HttpRequest,
    kind: Form[str],
    file: File[UploadedFile],
    mapping: File[UploadedFile] | None = None,
    mapping_id: Form[int | None] = None,
    source: Form[str | None] = None,
    on_error: Form[str] = OnError.REJECT,
    dry_run: Form[bool] = False,
    create_missing_agents: Form[bool] = False,
) -> Status:
    """Multipart: the file, and a mapping file or the id of a saved mapping. Answers 202; the
    worker runs the import; follow it at GET /api/v1/imports/{id}."""
    services.import_check_allowed(request.user)
    mapping_text = ""
    if mapping is not None:
        try:
            mapping_text = mapping.read().decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("The mapping file must be UTF-8 text") from None
    elif mapping_id is not None:
        saved = selectors.mapping_list(user=request.user).filter(pk=mapping_id).first()
        if saved is None:
            raise InvalidInput(f"No saved mapping with id {mapping_id}")
        mapping_text = saved.text
    path = services.store_upload(name=file.name or "upload.csv", chunks=file.chunks())
    batch = services.import_create(
        kind=kind,
        path=path,
        file_name=Path(file.name or "upload.csv").name,
        by=request.user,
        mapping_text=mapping_text,
        source=source,
        on_error=on_error,
        dry_run=dry_run,
        create_missing_agents=create_missing_agents,
    )
    services.import_enqueue(batch=batch, by=request.user)
    return Status(202, {"id": batch.pk, "status": batch.status})


@router.get("/imports", response=list[ImportOut], summary="Imports you can see, newest first")
@paginate(LimitOffset)
def import_list(request: HttpRequest) -> QuerySet[ImportBatch]:
    services.import_check_allowed(request.user)
    return selectors.batch_list(user=request.user)


@router.get("/imports/{import_id}", response=ImportOut, summary="One import: status, counts")
def import_get(request: HttpRequest, import_id: int) -> ImportBatch:
    batch = selectors.batch_get(user=request.user, pk=import_id)
    batch.problems_shown = list(  # type: ignore[attr-defined]
        selectors.batch_problems(batch=batch)[:PROBLEMS_IN_ANSWER]
    )
    return batch


@router.get("/mappings", response=list[MappingOut], summary="Saved mappings")
@paginate(LimitOffset)
def mapping_list(request: HttpRequest, kind: str | None = None) -> QuerySet[SavedMapping]:
    services.import_check_allowed(request.user)
    return selectors.mapping_list(user=request.user, kind=kind)


@router.post("/mappings", response={201: MappingOut}, summary="Save a mapping under a name")
def mapping_create(request: HttpRequest, payload: MappingIn) -> Status:
    saved = services.mapping_save(
        name=payload.name, kind=payload.kind, text=payload.text, by=request.user
    )
    return Status(201, saved)


@router.get(
    "/imports/{import_id}/errors",
    url_name="import_errors",
    summary="The rejected rows of an import (CSV)",
    response={200: None},
)
def import_errors(request: HttpRequest, import_id: int) -> FileResponse:
    """The error file: every rejected row as given, plus ``_row, _column, _value, _expected``."""
    return error_file_response(selectors.batch_get(user=request.user, pk=import_id))
