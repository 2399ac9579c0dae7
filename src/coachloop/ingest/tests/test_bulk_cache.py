"""An import on SQLite runs with a page cache sized for bulk index updates, and gives it back."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from coachloop.core.personas import World
from coachloop.ingest import staging
from coachloop.ingest.models import BatchStatus
from coachloop.ingest.tests.helpers import contact, contacts, import_text


def _cache_size() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        return int(cursor.fetchone()[0])


def test_an_import_on_sqlite_has_the_large_cache_while_it_runs_and_not_after(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "sqlite":
        # PostgreSQL's cache is the server's: the import asks nothing of it.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(connection, "cursor", lambda: pytest.fail("no SQL expected"))
            with staging.bulk_cache():
                pass
        return
    during: list[int] = []
    write = staging.stage_write

    def watching(*args, **kwargs):  # type: ignore[no-untyped-def]
        during.append(_cache_size())
        return write(*args, **kwargs)

    monkeypatch.setattr(staging, "stage_write", watching)
    before = _cache_size()
    batch = import_text("interactions", contacts(contact("c1"), contact("c2")), tmp_path)
    assert batch.status == BatchStatus.SUCCEEDED
    assert during == [-settings.COACHLOOP_IMPORT_CACHE_MB * 1024]
    assert before != during[0]
    assert _cache_size() == before
