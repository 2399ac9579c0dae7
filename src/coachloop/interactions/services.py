"""Writes about the facts that are not imports: marking days for KPI recomputation."""

from __future__ import annotations

import datetime as dt

from coachloop.interactions.models import RecomputeMark


def recompute_marks_add(*, marks: set[tuple[int, dt.date]], reason: str) -> None:
    """Mark (program id, local day) pairs for KPI recomputation; a day marked again gets the
    new time and reason (one statement per 2,000 marks)."""
    RecomputeMark.objects.bulk_create(
        [RecomputeMark(program_id=p, date=d, reason=reason) for p, d in sorted(marks)],
        update_conflicts=True,
        unique_fields=["program", "date"],
        update_fields=["marked_at", "reason"],
        batch_size=2000,
    )
