"""The program's diagnosis context, built once and shared by the requests that need it.

A context is every agent's values over three windows, spreads, QA counts, associations and the
program issues: most of the time of an agent's diagnosis or a team's queue, and the same for
every lead of the program on the same day. It is kept at two levels, both keyed by the program,
the window and a **stamp** of what it was built from:

- in each process, the last few contexts used (``KEPT``);
- in the database, one ``ContextSnapshot`` per program for the pages' default window (the last
  13 weeks up to today), which the worker keeps current (``contexts_refresh``, run when the
  worker is idle: ``insights/jobs.py``). So a lead's first request after an import or a
  submitted evaluation loads the context (tens of ms) instead of building it (about a second at
  a 500-agent program), unless it comes in the seconds before the worker has caught up; then
  the request builds it and keeps it in its process. Requests never store: a page read must not
  wait for SQLite's write lock behind a long import.

The stamp changes when the rollups are rebuilt (metrics' RollupStamp: imports, recomputes,
exclusions), when an evaluation of the program is submitted, changed or deleted, when a
scorecard, a skill or one of the program's metric definitions changes, and with the code that
computes a context (a snapshot made by other code is never loaded).

Contexts are shared between requests: read them, never change them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import pickle
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone

from coachloop.insights import diagnosis
from coachloop.insights.diagnosis import DIAGNOSED, ProgramContext, program_context
from coachloop.insights.models import ContextSnapshot
from coachloop.learning.models import Skill
from coachloop.metrics import kpis, stats
from coachloop.metrics import selectors as kpi_selectors
from coachloop.org.models import Program
from coachloop.quality import analytics
from coachloop.quality.models import Evaluation, EvaluationStatus, Scorecard

logger = logging.getLogger(__name__)

KEPT = 16  # contexts per process: a few programs x the windows in use

_lock = threading.Lock()
_kept: OrderedDict[tuple[Any, ...], ProgramContext] = OrderedDict()


def _code_version() -> str:
    """A digest of the modules a context is computed by: a snapshot pickled by other code
    (another release, another shape of ProgramContext) is rebuilt, never unpickled."""
    digest = hashlib.sha256()
    for module in (diagnosis, analytics, kpis, stats, kpi_selectors):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


CODE_VERSION = _code_version()


def data_stamp(program: Program) -> str:
    """What a context depends on, in a handful of small queries, as one digest."""
    # Drafts count nowhere: an analyst saving one does not make the context stale.
    evaluations = Evaluation.objects.filter(
        program=program, status=EvaluationStatus.SUBMITTED
    ).aggregate(at=Max("updated_at"), n=Count("id"))
    scorecards = Scorecard.objects.aggregate(at=Max("updated_at"), n=Count("id"))
    skills = Skill.objects.aggregate(at=Max("updated_at"), n=Count("id"))
    # Definitions have no change time; their fields are few, so they are digested whole.
    definitions = [
        [(field.attname, getattr(definition, field.attname)) for field in definition._meta.fields]
        for definition in kpi_selectors.definitions_for(program, list(DIAGNOSED))
    ]
    parts = (
        CODE_VERSION,
        kpi_selectors.rollups_version(program),
        evaluations["at"],
        evaluations["n"],
        scorecards["at"],
        scorecards["n"],
        skills["at"],
        skills["n"],
        definitions,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def shared_context(*, program: Program, start: dt.date, end: dt.date) -> ProgramContext:
    """The program's context for this window: the one this process keeps, else the stored one,
    while the data is unchanged; else built here."""
    stamp = data_stamp(program)
    key = (program.pk, start, end, stamp)
    with _lock:
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
            return kept
    context = _stored(program, start, end, stamp)
    if context is None:
        # Built outside the lock: two requests may build the same context once each, which is
        # cheaper than making every other program's requests wait.
        context = program_context(program=program, start=start, end=end)
    _keep(key, context)
    return context


def default_window(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The window the pages open on, which is the one stored: the last 13 weeks up to today."""
    return kpi_selectors.recent_window(end=today or timezone.localdate())


def contexts_refresh(*, today: dt.date | None = None) -> list[tuple[Program, float]]:
    """Store the default-window context of every program whose stored one is missing or stale,
    and drop the stored contexts of other windows (days gone by). Returns the programs rebuilt
    with the seconds each took. What the worker's ``contexts`` job runs."""
    start, end = default_window(today)
    ContextSnapshot.objects.exclude(start=start, end=end).delete()
    rebuilt: list[tuple[Program, float]] = []
    for program, stamp in stale_programs(today=today):
        # The stamp is taken before the build: data arriving during it makes the stored
        # context stale at once, never a stale context look current.
        began = time.perf_counter()
        context = program_context(program=program, start=start, end=end)
        seconds = time.perf_counter() - began
        _store(context, stamp, seconds=seconds)
        rebuilt.append((program, seconds))
    return rebuilt


def stale_programs(*, today: dt.date | None = None) -> list[tuple[Program, str]]:
    """The programs whose default-window context is not stored for their data as it is now,
    with the stamp of that data."""
    start, end = default_window(today)
    stored = dict(
        ContextSnapshot.objects.filter(start=start, end=end).values_list("program_id", "stamp")
    )
    stamped = [(program, data_stamp(program)) for program in Program.objects.order_by("pk")]
    return [(program, stamp) for program, stamp in stamped if stored.get(program.pk) != stamp]


def _stored(program: Program, start: dt.date, end: dt.date, stamp: str) -> ProgramContext | None:
    payload = (
        ContextSnapshot.objects.filter(program=program, start=start, end=end, stamp=stamp)
        .values_list("payload", flat=True)
        .first()
    )
    if payload is None:
        return None
    try:
        context = pickle.loads(bytes(payload))  # noqa: S301 - our own table, written by _store
    except Exception:
        # The stamp carries the code version, so this is a damaged row: build a new one.
        logger.exception("Stored context of program %s is unreadable; building it", program.pk)
        return None
    if not isinstance(context, ProgramContext):
        return None
    context.program = program  # the request's instance (a renamed program reads as renamed)
    return context


def _store(context: ProgramContext, stamp: str, *, seconds: float) -> None:
    """Keep the context in the database for every process. Never fails the refresh: a context
    that could not be stored is built by whoever needs it, and tried again at the next check."""
    fields: dict[str, Any] = {
        "stamp": stamp,
        "payload": pickle.dumps(context, protocol=pickle.HIGHEST_PROTOCOL),
        "built_at": timezone.now(),
        "build_seconds": seconds,
    }
    try:
        with transaction.atomic():
            ContextSnapshot.objects.update_or_create(
                program=context.program, start=context.start, end=context.end, defaults=fields
            )
    except IntegrityError:
        pass  # another process stored the same window at the same moment
    except DatabaseError:
        logger.exception("Could not store the context of program %s", context.program.pk)


def _keep(key: tuple[Any, ...], context: ProgramContext) -> None:
    with _lock:
        _kept[key] = context
        _kept.move_to_end(key)
        while len(_kept) > KEPT:
            _kept.popitem(last=False)


def forget_all() -> None:
    """Drop every context this process keeps (tests: each starts from an empty database; the
    bench: a process that has seen nothing yet). Stored snapshots stay."""
    with _lock:
        _kept.clear()
