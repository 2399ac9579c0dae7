"""Reads of imports, scoped to the user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from coachloop.ingest.models import ImportBatch, ImportProblem, SavedMapping
from coachloop.ingest.services import importable_program_ids

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


def batch_list(*, user: AnyUser) -> QuerySet[ImportBatch]:
    return (
        ImportBatch.objects.visible_to(user)
        .select_related("created_by", "job")
        .order_by("-created_at", "-id")
    )


def batch_get(*, user: AnyUser, pk: int) -> ImportBatch:
    batch = batch_list(user=user).filter(pk=pk).first()
    if batch is None:
        raise Http404("No such import")
    return batch


def batch_problems(*, batch: ImportBatch, warnings: bool | None = None) -> QuerySet[ImportProblem]:
    problems = batch.problems.order_by("is_warning", "row", "id")
    if warnings is not None:
        problems = problems.filter(is_warning=warnings)
    return problems


def mapping_list(*, user: AnyUser, kind: str | None = None) -> QuerySet[SavedMapping]:
    """Saved mappings are organization settings: anyone who may import can use them."""
    if importable_program_ids(user) is not None and not importable_program_ids(user):
        return SavedMapping.objects.none()
    mappings = SavedMapping.objects.all()
    if kind:
        mappings = mappings.filter(kind=kind)
    return mappings.order_by("kind", "name")
