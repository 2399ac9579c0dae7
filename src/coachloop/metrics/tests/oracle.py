"""The metric definitions of ARCHITECTURE.md written out in plain Python, one record at a time:
what the property test compares the rollups with. Nothing here reads the database or calls the
metrics code, so a mistake there cannot hide behind the same mistake here.

AHT leaves out handled contacts whose talk time is missing and counts a missing hold or ACW as 0;
FCR uses the source flag when there is one, else the derived outcome, and leaves the contact out
when both are unknown; service level is answered within the program's threshold over all
contacts offered; a rate's n is its denominator, an activity ratio's n its days. Excluded
contacts and days leave agent metrics and stay in queue metrics. The QA score is the mean of
the submitted evaluations' scores of the contacts in the group (drafts and calibration never
count).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pytest

from coachloop.metrics.kpis import Kpi
from coachloop.org.models import Person, Program, Team

QUEUE_METRICS = ["service_level", "asa", "abandon_rate", "vip_service_level"]


# --- the data, as plain records the oracle reads -----------------------------------------------


@dataclass(frozen=True)
class Fact:
    program: Program
    agent: Person | None
    team: Team | None
    day: dt.date
    answered: bool
    channel: str
    queue: str
    call_type: str
    wait: int | None
    talk: int | None
    hold: int | None
    acw: int | None
    transferred: bool
    escalated: bool
    resolved: bool | None
    derived: bool | None
    provisional: bool
    csat: int | None
    nps: int | None
    excluded: bool = False
    pk: int | None = None
    qa: tuple[int, ...] = ()  # scores of the contact's submitted QA evaluations


@dataclass(frozen=True)
class Day:
    agent: Person
    team: Team
    day: dt.date
    scheduled: int | None
    logged_in: int | None
    productive: int | None
    adherent: int | None
    absent: bool
    excluded: bool = False


# --- the definitions -------------------------------------------------------------------------

Figures = tuple[float, float, float]  # numerator, denominator, n


def _handled(facts: Iterable[Fact]) -> list[Fact]:
    return [f for f in facts if f.answered]


def _outcome(fact: Fact) -> bool | None:
    return fact.resolved if fact.resolved is not None else fact.derived


def _aht(facts: list[Fact]) -> Figures:
    timed = [f for f in _handled(facts) if f.talk is not None]
    total = sum((f.talk or 0) + (f.hold or 0) + (f.acw or 0) for f in timed)
    return total, len(timed), len(timed)


def _fcr(facts: list[Fact]) -> Figures:
    known = [f for f in _handled(facts) if _outcome(f) is not None]
    return sum(1 for f in known if _outcome(f)), len(known), len(known)


def _rate(facts: list[Fact], hit: Callable[[Fact], bool]) -> Figures:
    return sum(1 for f in facts if hit(f)), len(facts), len(facts)


def _service_level(facts: list[Fact], threshold: int) -> Figures:
    # An answered contact with no recorded wait counts as answered at once (the code's choice).
    return _rate(facts, lambda f: f.answered and (f.wait or 0) <= threshold)


def contact_figures(slug: str, facts: list[Fact], threshold: int) -> Figures:
    handled = _handled(facts)
    responses = [f for f in facts if f.csat is not None]
    nps = [f for f in facts if f.nps is not None]
    if slug == "aht":
        return _aht(facts)
    if slug == "chat_aht":
        return _aht([f for f in facts if f.channel == "chat"])
    if slug == "acw":
        return sum(f.acw or 0 for f in handled), len(handled), len(handled)
    if slug == "hold":
        return sum(f.hold or 0 for f in handled), len(handled), len(handled)
    if slug == "fcr":
        return _fcr(facts)
    if slug == "billing_fcr":
        return _fcr([f for f in facts if f.call_type == "billing"])
    if slug == "csat":
        return _rate(responses, lambda f: (f.csat or 0) >= 4)
    if slug == "csat_mean":
        return sum(f.csat or 0 for f in responses), len(responses), len(responses)
    if slug == "nps":
        promoters = sum(1 for f in nps if (f.nps or 0) >= 9)
        detractors = sum(1 for f in nps if (f.nps or 0) <= 6)
        return promoters - detractors, len(nps), len(nps)
    if slug == "transfer_rate":
        return _rate(handled, lambda f: f.transferred)
    if slug == "escalation_rate":
        return _rate(handled, lambda f: f.escalated)
    if slug == "service_level":
        return _service_level(facts, threshold)
    if slug == "vip_service_level":
        return _service_level([f for f in facts if f.queue == "vip"], threshold)
    if slug == "asa":
        waited = [f for f in handled if f.wait is not None]
        return sum(f.wait or 0 for f in waited), len(waited), len(waited)
    if slug == "abandon_rate":
        return _rate(facts, lambda f: not f.answered)
    if slug == "qa_score":
        scores = [score for f in facts for score in f.qa]
        return sum(scores), len(scores), len(scores)
    raise AssertionError(slug)


def activity_figures(slug: str, facts: list[Fact], days: list[Day]) -> Figures:
    scheduled = [d for d in days if (d.scheduled or 0) > 0]
    logged = [d for d in days if (d.logged_in or 0) > 0]
    if slug == "adherence":
        return (
            sum(d.adherent or 0 for d in days),
            sum(d.scheduled or 0 for d in days),
            len(scheduled),
        )
    if slug == "attendance":
        present = sum(1 for d in scheduled if not d.absent)
        return present, len(scheduled), len(scheduled)
    if slug == "occupancy":
        return (
            sum(d.productive or 0 for d in days),
            sum(d.logged_in or 0 for d in days),
            len(logged),
        )
    if slug == "productivity":
        return len(_handled(facts)), sum(d.productive or 0 for d in days), len(logged)
    raise AssertionError(slug)


SCALES = {"nps": 100.0, "productivity": 3600.0}
ACTIVITY = {"adherence", "attendance", "occupancy", "productivity"}
FCR_FILTERS: dict[str, Callable[[Fact], bool]] = {
    "fcr": lambda f: True,
    "billing_fcr": lambda f: f.call_type == "billing",
}


@dataclass(frozen=True)
class Wanted:
    value: float | None
    n: float
    numerator: float
    denominator: float
    provisional_n: float


def expected(slug: str, facts: list[Fact], days: list[Day], threshold: int) -> Wanted:
    """The KPI straight from the records: queue metrics count excluded contacts, agent metrics
    do not."""
    if slug not in QUEUE_METRICS:
        facts = [f for f in facts if not f.excluded]
        days = [d for d in days if not d.excluded]
    if slug in ACTIVITY:
        numerator, denominator, n = activity_figures(slug, facts, days)
    else:
        numerator, denominator, n = contact_figures(slug, facts, threshold)
    value = SCALES.get(slug, 1.0) * numerator / denominator if denominator > 0 and n > 0 else None
    provisional = 0
    if slug in FCR_FILTERS:
        provisional = sum(
            1
            for f in facts
            if f.answered
            and f.resolved is None
            and f.derived is not None
            and f.provisional
            and FCR_FILTERS[slug](f)
        )
    return Wanted(value, n, numerator, denominator, provisional)


def assert_same(item: Kpi, wanted: Wanted, where: str) -> None:
    got = (item.value, item.n, item.numerator, item.denominator, item.provisional_n)
    message = f"{item.slug} {where}: rollups {got}, contacts {wanted}"
    if wanted.value is None:
        assert item.value is None, message
    else:
        assert item.value == pytest.approx(wanted.value, rel=1e-9, abs=1e-9), message
    assert item.n == pytest.approx(wanted.n), message
    assert item.numerator == pytest.approx(wanted.numerator, rel=1e-9, abs=1e-9), message
    assert item.denominator == pytest.approx(wanted.denominator, rel=1e-9, abs=1e-9), message
    assert item.provisional_n == pytest.approx(wanted.provisional_n), message


def within(
    facts: list[Fact], days: list[Day], start: dt.date, end: dt.date
) -> tuple[list[Fact], list[Day]]:
    return (
        [f for f in facts if start <= f.day <= end],
        [d for d in days if start <= d.day <= end],
    )


def expected_periods(
    start: dt.date, end: dt.date, granularity: str, first_weekday: int
) -> list[tuple[dt.date, dt.date]]:
    """The calendar written out: (first day, last day) of each day, week or month touching the
    window, weeks starting on the program's first weekday."""
    found: list[tuple[dt.date, dt.date]] = []
    if granularity == "day":
        day = start
        while day <= end:
            found.append((day, day))
            day += dt.timedelta(days=1)
        return found
    if granularity == "week":
        begins = start
        while begins.weekday() != first_weekday:
            begins -= dt.timedelta(days=1)
        while begins <= end:
            found.append((begins, begins + dt.timedelta(days=6)))
            begins += dt.timedelta(days=7)
        return found
    year, month = start.year, start.month
    while dt.date(year, month, 1) <= end:
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        found.append((dt.date(year, month, 1), following - dt.timedelta(days=1)))
        year, month = following.year, following.month
    return found


def hit(
    fact: Fact,
    program: Program,
    kind: str,
    start: dt.date,
    end: dt.date,
    queue: str,
    picked: set[int],
) -> bool:
    """Whether an exclusion in force leaves the contact out of agent metrics."""
    if fact.program != program:
        return False
    if kind == "contacts":
        return fact.pk in picked
    if not start <= fact.day <= end:
        return False
    return kind == "day" or fact.queue == queue
