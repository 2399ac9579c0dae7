"""ingest's declarations for the route crawler (see core/tests/crawler.py)."""

from __future__ import annotations

from pathlib import Path

from coachloop.core.personas import World
from coachloop.core.tests.crawler import IdRoute
from coachloop.ingest.models import BatchStatus, ImportBatch


def chat_import(world: World) -> ImportBatch:
    """A finished import of the chat program, run from the command line."""
    batch = ImportBatch.objects.filter(file_name="chat.csv").first()
    if batch is None:
        errors = Path("/tmp") / "coachloop-crawler-errors.csv"  # noqa: S108 (test fixture)
        errors.write_text("a,_row,_column,_value,_expected\n", encoding="utf-8")
        batch = ImportBatch.objects.create(
            kind="interactions",
            file_name="chat.csv",
            file_path="/nonexistent/chat.csv",
            status=BatchStatus.REJECTED,
            errors_path=str(errors),
        )
        batch.programs.set([world.chat])
    return batch


PUBLIC_ROUTES: set[str] = set()
ID_ROUTES = {
    "ingest:batch": IdRoute(ImportBatch, chat_import),
    "ingest:errors": IdRoute(ImportBatch, chat_import),
    "/api/v1/imports/{import_id}": IdRoute(ImportBatch, chat_import),
    "/api/v1/imports/{import_id}/errors": IdRoute(ImportBatch, chat_import),
}
