"""What an import writes: all or nothing (reject), the good rows (skip), nothing but counts
(dry run), and nothing new when the same file comes twice."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from coachloop.conftest import row_counts
from coachloop.core.personas import World
from coachloop.ingest.models import BatchStatus
from coachloop.ingest.tests.helpers import (
    INTERACTION_COLUMNS,
    contact,
    contacts,
    counts,
    error_file_rows,
    import_text,
    problems,
)
from coachloop.interactions.models import Interaction, RecomputeMark

pytestmark = pytest.mark.django_db

GOOD_AND_BAD = contacts(
    contact("c1"),
    contact("c2", csat="7"),
    contact("c3", talk_s="=1+1"),
    contact("c4", customer_ref="K-9"),
)


def test_reject_writes_nothing_when_any_row_is_bad(world: World, tmp_path: Path) -> None:
    before = row_counts()
    batch = import_text("interactions", GOOD_AND_BAD, tmp_path)
    assert batch.status == BatchStatus.REJECTED
    assert counts(batch) == {"read": 4, "new": 0, "updated": 0, "unchanged": 0, "rejected": 2}
    after = row_counts()
    # Only the batch, its problems and its event are new.
    changed = {label for label in after if after[label] != before[label]}
    assert changed == {"ingest.ImportBatch", "ingest.ImportProblem", "core.Event"}
    assert Interaction.objects.count() == 0


def test_skip_writes_the_good_rows_and_files_the_bad_ones_as_given(
    world: World, tmp_path: Path
) -> None:
    batch = import_text("interactions", GOOD_AND_BAD, tmp_path, on_error="skip")
    assert batch.status == BatchStatus.SUCCEEDED
    assert counts(batch) == {"read": 4, "new": 2, "updated": 0, "unchanged": 0, "rejected": 2}
    assert sorted(Interaction.objects.values_list("external_id", flat=True)) == ["c1", "c4"]
    assert batch.errors_path == str(tmp_path / "imports" / str(batch.pk) / "errors.csv")
    rows = error_file_rows(batch)
    assert list(rows[0]) == [*INTERACTION_COLUMNS, "_row", "_column", "_value", "_expected"]
    assert [(r["_row"], r["_column"], r["_value"], r["_expected"]) for r in rows] == [
        ("2", "csat", "7", "an integer from 1 to 5 (the 1-5 scale)"),
        # A value a spreadsheet would run as a formula is neutralised in the error file.
        ("3", "talk_s", "'=1+1", "a duration in seconds"),
    ]
    assert (rows[0]["external_id"], rows[0]["csat"], rows[0]["agent"]) == ("c2", "7", "A1")
    assert rows[1]["talk_s"] == "'=1+1"


def test_the_error_file_goes_where_it_is_asked_to(world: World, tmp_path: Path) -> None:
    target = tmp_path / "out" / "bad.csv"
    batch = import_text(
        "interactions", GOOD_AND_BAD, tmp_path, on_error="skip", error_file=str(target)
    )
    assert batch.errors_path == str(target)
    assert len(error_file_rows(batch)) == 2


def test_a_dry_run_writes_nothing_and_counts_what_it_would_do(world: World, tmp_path: Path) -> None:
    import_text("interactions", contacts(contact("c1"), contact("c2")), tmp_path)
    before = row_counts()
    marks = list(RecomputeMark.objects.values_list("date", "marked_at"))
    text = contacts(contact("c1"), contact("c2", talk_s="99"), contact("c3"), contact("c4"))
    batch = import_text("interactions", text, tmp_path, dry_run=True)
    assert batch.status == BatchStatus.SUCCEEDED
    assert counts(batch) == {"read": 4, "new": 2, "updated": 1, "unchanged": 1, "rejected": 0}
    after = row_counts()
    changed = {label for label in after if after[label] != before[label]}
    assert changed == {"ingest.ImportBatch", "core.Event"}
    assert Interaction.objects.get(external_id="c2").talk_s == 300.0
    assert list(RecomputeMark.objects.values_list("date", "marked_at")) == marks


def test_a_dry_run_reports_bad_rows_like_a_real_run(world: World, tmp_path: Path) -> None:
    batch = import_text("interactions", GOOD_AND_BAD, tmp_path, dry_run=True, on_error="skip")
    assert counts(batch) == {"read": 4, "new": 2, "updated": 0, "unchanged": 0, "rejected": 2}
    assert [p[0] for p in problems(batch)] == [2, 3]
    assert Interaction.objects.count() == 0


def test_the_same_file_twice_changes_nothing(world: World, tmp_path: Path) -> None:
    text = contacts(
        contact("c1", customer_ref="K1", csat="4"),
        contact(
            "c2", customer_ref="K1", started_at="2026-06-02T09:00:00Z", csat="7", csat_scale="0-10"
        ),
        contact("c3", answered="false", agent="", talk_s="", wait_s="31.7"),
        contact("c4", started_at="2026-06-03T09:00:00.123456Z", csat="33.3", csat_scale="percent"),
    )
    first = import_text("interactions", text, tmp_path)
    assert counts(first) == {"read": 4, "new": 4, "updated": 0, "unchanged": 0, "rejected": 0}
    stored = list(Interaction.objects.order_by("pk").values())
    marks = list(RecomputeMark.objects.order_by("pk").values())
    second = import_text("interactions", text, tmp_path)
    assert counts(second) == {"read": 4, "new": 0, "updated": 0, "unchanged": 4, "rejected": 0}
    assert list(Interaction.objects.order_by("pk").values()) == stored
    # Nothing changed, so no KPI needs recomputing.
    assert list(RecomputeMark.objects.order_by("pk").values()) == marks


def test_a_corrected_file_updates_only_the_rows_that_changed(world: World, tmp_path: Path) -> None:
    rows = [contact(f"c{n}", started_at=f"2026-06-{n:02d}T09:00:00Z") for n in range(1, 6)]
    first = import_text("interactions", contacts(*rows), tmp_path)
    rows[1]["talk_s"] = "301"
    rows[3]["csat"] = "2"
    rows.append(contact("c6", started_at="2026-06-06T09:00:00Z"))
    second = import_text("interactions", contacts(*rows), tmp_path)
    assert counts(second) == {"read": 6, "new": 1, "updated": 2, "unchanged": 3, "rejected": 0}
    batches = dict(Interaction.objects.values_list("external_id", "batch_id"))
    assert batches == {
        "c1": first.pk,
        "c2": second.pk,
        "c3": first.pk,
        "c4": second.pk,
        "c5": first.pk,
        "c6": second.pk,
    }


def test_an_import_that_crashes_fails_its_batch_and_its_job(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.management import call_command

    from coachloop.core.models import Job, JobStatus
    from coachloop.ingest.loaders import interactions
    from coachloop.ingest.models import ImportBatch
    from coachloop.ingest.tests.helpers import write

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(interactions, "derive_fcr", explode)
    path = write(tmp_path, "i.csv", contacts(contact("c1")))
    with pytest.raises(SystemExit):
        call_command("import", "interactions", str(path), stdout=io.StringIO())
    batch = ImportBatch.objects.get()
    assert batch.status == BatchStatus.FAILED
    assert batch.error == (
        "The import stopped: RuntimeError: disk on fire. Nothing was written; run it again."
    )
    assert Job.objects.get().status == JobStatus.FAILED
    assert Interaction.objects.count() == 0
