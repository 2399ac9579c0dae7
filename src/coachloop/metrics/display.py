"""How KPIs read on a page: formatted values, hover text with n and the interval, the flag in
words and an icon (colour never stands alone), and the link to the records behind a number."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext as _

from coachloop.metrics.kpis import Kpi, Status
from coachloop.metrics.models import MetricDefinition, Unit

# How values read, per display style; a definition's ``display`` picks one, else its unit does.
DISPLAY_BY_UNIT: dict[str, str] = {
    Unit.SECONDS.value: "duration",
    Unit.RATIO.value: "percent",
    Unit.PER_HOUR.value: "per_hour",
    Unit.POINTS.value: "points",
    Unit.SCORE.value: "decimal1",
}


def display_of(definition: MetricDefinition) -> str:
    return definition.display or DISPLAY_BY_UNIT.get(definition.unit, "decimal1")


def format_value(value: float | None, style: str) -> str:
    """AHT as m:ss, rates as percentages, per-hour counts with one decimal, ..."""
    if value is None:
        return "—"
    if style == "duration":
        seconds = round(value)
        if abs(seconds) >= 60:
            return f"{seconds // 60}:{seconds % 60:02d}"
        return f"{seconds} s"
    if style == "seconds":
        return f"{value:.0f} s"
    if style == "percent":
        return f"{value * 100:.1f}%"
    if style == "percent0":
        return f"{value * 100:.0f}%"
    if style == "per_hour":
        return f"{value:.1f}/h"
    if style == "points":
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"
    if style == "integer":
        return f"{value:.0f}"
    if style == "decimal2":
        return f"{value:.2f}"
    return f"{value:.1f}"


def format_target(kpi: Kpi) -> str:
    target = kpi.target
    if target is None:
        return ""
    unit = display_of(kpi.definition)
    if target.upper is not None:
        return f"{format_value(target.value, unit)} to {format_value(target.upper, unit)}"
    return format_value(target.value, unit)


# Which contacts make a metric's denominator: the drill-down lists exactly those.
_RECORDS = {
    "handled": {"answered": "true"},
    "aht_n": {"answered": "true", "timed": "true"},
    "fcr_n": {"answered": "true", "outcome_known": "true"},
    "wait_n": {"answered": "true"},
    "csat_n": {"surveyed": "true"},
    "nps_n": {"surveyed": "true"},
    "contacts": {},
}


def records_url(definition: MetricDefinition, **scope: object) -> str | None:
    """The interactions page filtered to the contacts behind this metric for an agent, team or
    program and period; None for metrics that are not about contacts (adherence...)."""
    if definition.denominator not in _RECORDS:
        return None
    params: dict[str, object] = {k: v for k, v in scope.items() if v is not None}
    params.update(_RECORDS[definition.denominator])
    for dimension, values in (definition.filters or {}).items():
        if len(values) == 1:
            params[dimension] = values[0]
    return f"{_interactions_path(get_script_prefix())}?{urlencode(params)}"


@functools.lru_cache(maxsize=8)
def _interactions_path(prefix: str) -> str:
    """The list's path under this script prefix: a page links several hundred cells to it."""
    return reverse("interactions:list")


@dataclass(frozen=True)
class Cell:
    text: str
    title: str
    band: str  # "", "below" or "far_below": the CSS class, only when statistically worse
    flag: str  # the same in words, for screen readers and colour-blind readers
    icon: str
    url: str | None
    n: int
    enough: bool


def cell(kpi: Kpi, url: str | None = None) -> Cell:
    definition = kpi.definition
    unit = display_of(definition)
    lines = [f"{definition.label}: {format_value(kpi.value, unit)}", f"n = {int(kpi.n)}"]
    if kpi.interval:
        low, high = kpi.interval
        lines.append(
            _("90%% interval %(low)s to %(high)s")
            % {"low": format_value(low, unit), "high": format_value(high, unit)}
        )
    if kpi.target:
        lines.append(_("target %(target)s") % {"target": format_target(kpi)})
    if kpi.probability_worse is not None and kpi.target:
        lines.append(_("P(worse than target) %(p).0f%%") % {"p": kpi.probability_worse * 100})
    if kpi.expected is not None:
        lines.append(
            _("expected from call-type mix %(expected)s")
            % {"expected": format_value(kpi.expected, unit)}
        )
    if kpi.provisional_n:
        lines.append(_("%(n)d provisional (repeat window still open)") % {"n": kpi.provisional_n})
    enough = kpi.status != Status.NOT_ENOUGH_DATA and kpi.value is not None
    if kpi.status == Status.NOT_ENOUGH_DATA:
        lines.append(_("not enough data yet"))
    flag, icon = "", ""
    if kpi.band == "far_below":
        flag, icon = _("well off target"), "▼▼"
    elif kpi.band == "below":
        flag, icon = _("below target"), "▼"
    return Cell(
        text=format_value(kpi.value, unit),
        title="\n".join(lines),
        band=kpi.band,
        flag=flag,
        icon=icon,
        url=url,
        n=int(kpi.n),
        enough=enough,
    )


def iso(day: dt.date) -> str:
    return day.isoformat()
