"""Charts as server-rendered SVG: sparklines, weekly trends with a target band, dot plots.

Drawn here rather than by a JavaScript library so pages stay server-rendered, print, work
without scripts and need no exception in the Content Security Policy (SVG presentation
attributes are not inline styles). Every chart carries a text alternative.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Number = float | None


def _bounds(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if math.isclose(low, high):
        pad = abs(low) * 0.05 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return low - pad, high + pad


def _scaler(low: float, high: float, top: float, bottom: float) -> Callable[[float], float]:
    return lambda v: bottom - (v - low) / (high - low) * (bottom - top)


def sparkline(
    values: Sequence[Number], *, label: str, width: int = 96, height: int = 22
) -> SafeString:
    """A small line of weekly values; gaps where a week had no data."""
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return mark_safe(f'<span class="spark-empty" title="{escape(label)}">—</span>')  # noqa: S308
    low, high = _bounds(present)
    y = _scaler(low, high, 2, height - 2)
    step = (width - 4) / max(len(values) - 1, 1)
    segments: list[list[str]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            segments.append([])
            continue
        segments[-1].append(f"{2 + index * step:.1f},{y(value):.1f}")
    lines = "".join(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="currentColor" '
        'stroke-width="1.5"/>'
        for points in segments
        if len(points) > 1
    )
    last_index = max(i for i, v in enumerate(values) if v is not None)
    last_value = values[last_index]
    assert last_value is not None
    dot = (
        f'<circle cx="{2 + last_index * step:.1f}" cy="{y(last_value):.1f}" r="2" '
        'fill="currentColor"/>'
    )
    return mark_safe(  # noqa: S308 (numbers and an escaped label only)
        f'<svg class="spark" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(label)}</title>{lines}{dot}</svg>'
    )


def trend_chart(
    *,
    labels: Sequence[str],
    values: Sequence[Number],
    label: str,
    formatter: Callable[[float], str],
    target: tuple[float, float | None] | None = None,
    median: Sequence[Number] | None = None,
    width: int = 360,
    height: int = 150,
) -> SafeString:
    """Weekly values as a line with points, the target as a band (or a line) and the team
    median as a thin dashed line."""
    left, right, top, bottom = 48, width - 22, 10, height - 22
    everything = [v for v in values if v is not None] + [v for v in (median or []) if v is not None]
    if target:
        everything += [t for t in target if t is not None]
    if not everything:
        return mark_safe(f'<p class="empty">{escape(label)}: no data in these weeks.</p>')  # noqa: S308
    low, high = _bounds(everything)
    y = _scaler(low, high, top, bottom)
    step = (right - left) / max(len(values) - 1, 1)

    def x(index: int) -> float:
        return left + index * step

    parts: list[str] = []
    if target:
        target_low, target_high = target
        if target_high is not None:
            parts.append(
                f'<rect class="target-band" x="{left}" y="{y(target_high):.1f}" '
                f'width="{right - left}" height="{max(y(target_low) - y(target_high), 1):.1f}"/>'
            )
        else:
            parts.append(
                f'<line class="target-line" x1="{left}" x2="{right}" y1="{y(target_low):.1f}" '
                f'y2="{y(target_low):.1f}"/>'
            )
    for tick in (low, (low + high) / 2, high):
        parts.append(
            f'<text class="axis" x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">'
            f"{escape(formatter(tick))}</text>"
        )
    for index, text in enumerate(labels):
        if index % max(len(labels) // 4, 1) == 0 or index == len(labels) - 1:
            parts.append(
                f'<text class="axis" x="{x(index):.1f}" y="{height - 6}" text-anchor="middle">'
                f"{escape(text)}</text>"
            )
    if median:
        points = [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(median) if v is not None]
        if len(points) > 1:
            parts.append(f'<polyline class="median-line" points="{" ".join(points)}"/>')
    points = [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if v is not None]
    if len(points) > 1:
        parts.append(f'<polyline class="value-line" points="{" ".join(points)}"/>')
    for index, value in enumerate(values):
        if value is not None:
            parts.append(
                f'<circle class="value-point" cx="{x(index):.1f}" cy="{y(value):.1f}" r="2.5">'
                f"<title>{escape(labels[index])}: {escape(formatter(value))}</title></circle>"
            )
    return mark_safe(  # noqa: S308 (numbers and escaped text only)
        f'<svg class="trend" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet"><title>{escape(label)}</title>{"".join(parts)}</svg>'
    )


def dot_plot(
    *,
    values: Sequence[float],
    label: str,
    formatter: Callable[[float], str],
    target: tuple[float, float | None] | None = None,
    width: int = 320,
    height: int = 44,
) -> SafeString:
    """One dot per agent along an axis, jittered in rows so overlapping agents stay visible."""
    if not values:
        return mark_safe(f'<span class="empty">{escape(label)}: no agents with data</span>')  # noqa: S308
    pool = list(values) + ([t for t in target if t is not None] if target else [])
    low, high = _bounds(pool)
    left, right = 6, width - 6

    def x(value: float) -> float:
        return left + (value - low) / (high - low) * (right - left)

    parts: list[str] = []
    if target:
        target_low, target_high = target
        end = target_high if target_high is not None else target_low
        parts.append(
            f'<rect class="target-band" x="{min(x(target_low), x(end)):.1f}" y="2" '
            f'width="{max(abs(x(end) - x(target_low)), 1.5):.1f}" height="{height - 16}"/>'
        )
    for index, value in enumerate(sorted(values)):
        parts.append(
            f'<circle class="dot" cx="{x(value):.1f}" cy="{6 + (index % 4) * 6}" r="2.5"/>'
        )
    parts.append(
        f'<text class="axis" x="{left}" y="{height - 2}">{escape(formatter(low))}</text>'
        f'<text class="axis" x="{right}" y="{height - 2}" text-anchor="end">'
        f"{escape(formatter(high))}</text>"
    )
    return mark_safe(  # noqa: S308 (numbers and escaped text only)
        f'<svg class="dots" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}"><title>{escape(label)}</title>{"".join(parts)}</svg>'
    )
