"""The program's diagnosis context, built once and shared by the requests that need it.

A context is every agent's values over three windows, spreads, QA counts, associations and the
program issues: most of the time of an agent's diagnosis or a team's queue, and the same for
every lead of the program on the same day. So each process keeps the last few, keyed by the
program, the window and a stamp of the data they were built from. The stamp changes when the
rollups are rebuilt (metrics' RollupStamp), when an evaluation of the
program is added, changed or deleted, or when a scorecard or skill changes; anything it misses
(a metric's label edited in the admin) is picked up within ``MAX_AGE``.

Contexts are shared between requests: read them, never change them.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from typing import Any

from django.db.models import Count, Max

from coachloop.insights.diagnosis import ProgramContext, program_context
from coachloop.learning.models import Skill
from coachloop.metrics.selectors import rollups_version
from coachloop.org.models import Program
from coachloop.quality.models import Evaluation, EvaluationStatus, Scorecard

MAX_AGE_S = 600.0
KEPT = 16  # contexts per process: a few programs x the windows in use

_lock = threading.Lock()
_kept: OrderedDict[tuple[Any, ...], tuple[float, ProgramContext]] = OrderedDict()


def data_stamp(program: Program) -> tuple[Any, ...]:
    """What a context depends on, in four small aggregate queries."""
    # Drafts count nowhere: an analyst saving one does not make the context stale.
    evaluations = Evaluation.objects.filter(
        program=program, status=EvaluationStatus.SUBMITTED
    ).aggregate(at=Max("updated_at"), n=Count("id"))
    scorecards = Scorecard.objects.aggregate(at=Max("updated_at"), n=Count("id"))
    skills = Skill.objects.aggregate(at=Max("updated_at"), n=Count("id"))
    return (
        rollups_version(program),
        evaluations["at"],
        evaluations["n"],
        scorecards["at"],
        scorecards["n"],
        skills["at"],
        skills["n"],
    )


def shared_context(*, program: Program, start: dt.date, end: dt.date) -> ProgramContext:
    """The program's context for this window: the kept one while its data is unchanged."""
    key = (program.pk, start, end, data_stamp(program))
    now = time.monotonic()
    with _lock:
        kept = _kept.get(key)
        if kept is not None and now - kept[0] <= MAX_AGE_S:
            _kept.move_to_end(key)
            return kept[1]
    # Built outside the lock: two requests may build the same context once each, which is
    # cheaper than making every other program's requests wait.
    context = program_context(program=program, start=start, end=end)
    with _lock:
        _kept[key] = (now, context)
        _kept.move_to_end(key)
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return context


def forget_all() -> None:
    """Drop every kept context (tests: each starts from an empty database)."""
    with _lock:
        _kept.clear()
