"""The canonical measures: the sums every KPI is a ratio of.

Each measure is one column of every rollup table, filled by one SQL expression over a contact
(alias ``i``, with the program's service-level threshold as ``p.service_level_s``), over an
agent's activity day (alias ``d``) or over a QA evaluation (alias ``e``, with its contact
``i``). A metric definition names measures, never SQL, so a program can add "Billing FCR" or
"Chat AHT" as data. This module is the one place the expressions live.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    name: str
    contact_sql: str  # per contact row; "0" when the measure is about activity
    activity_sql: str  # per agent-day row; "0" when the measure is about contacts
    description: str
    # Per submitted QA evaluation (alias ``e``, its contact ``i``); "0" for the others.
    evaluation_sql: str = "0"


# SQLite stores booleans as 0/1 and PostgreSQL as booleans: both accept them bare in CASE WHEN.
_HANDLED = "i.answered"
_FCR_OUTCOME = "COALESCE(i.resolved, i.fcr_derived)"


def _count(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def _value(condition: str, value: str) -> str:
    return f"CASE WHEN {condition} THEN {value} ELSE 0 END"


_AHT = "(i.talk_s + COALESCE(i.hold_s, 0) + COALESCE(i.acw_s, 0))"
_TIMED = f"{_HANDLED} AND i.talk_s IS NOT NULL"
_WAITED = f"{_HANDLED} AND i.wait_s IS NOT NULL"
_SCHEDULED = "d.scheduled_s > 0"
_LOGGED = "d.logged_in_s > 0"

MEASURES: tuple[Measure, ...] = (
    # Contacts and the queue
    Measure("contacts", "1", "0", "contacts offered, answered or not"),
    Measure("abandoned", _count("NOT i.answered"), "0", "contacts never answered"),
    Measure("handled", _count(_HANDLED), "0", "contacts answered by an agent"),
    Measure(
        "answered_in_sl",
        _count(f"{_HANDLED} AND COALESCE(i.wait_s, 0) <= p.service_level_s"),
        "0",
        "contacts answered within the program's service-level threshold",
    ),
    Measure("wait_n", _count(_WAITED), "0", "answered contacts with a known wait"),
    Measure("wait_sum", _value(_WAITED, "i.wait_s"), "0", "seconds waited before an answer"),
    Measure("wait_sq", _value(_WAITED, "i.wait_s * i.wait_s"), "0", "squares of wait"),
    # Handling time
    Measure("aht_n", _count(_TIMED), "0", "handled contacts with a talk time"),
    Measure("aht_sum", _value(_TIMED, _AHT), "0", "talk + hold + ACW seconds"),
    Measure("aht_sq", _value(_TIMED, f"{_AHT} * {_AHT}"), "0", "squares of handle time"),
    Measure("acw_sum", _value(_HANDLED, "COALESCE(i.acw_s, 0)"), "0", "after-call work seconds"),
    Measure(
        "acw_sq",
        _value(_HANDLED, "COALESCE(i.acw_s, 0) * COALESCE(i.acw_s, 0)"),
        "0",
        "squares of ACW",
    ),
    Measure("hold_sum", _value(_HANDLED, "COALESCE(i.hold_s, 0)"), "0", "hold seconds"),
    Measure(
        "hold_sq",
        _value(_HANDLED, "COALESCE(i.hold_s, 0) * COALESCE(i.hold_s, 0)"),
        "0",
        "squares of hold",
    ),
    # Outcomes
    Measure(
        "fcr_n",
        _count(f"{_HANDLED} AND {_FCR_OUTCOME} IS NOT NULL"),
        "0",
        "handled contacts with a known first-contact outcome (source flag or derived)",
    ),
    Measure(
        "fcr_resolved",
        _count(f"{_HANDLED} AND {_FCR_OUTCOME}"),
        "0",
        "handled contacts resolved on first contact",
    ),
    Measure(
        "fcr_provisional",
        _count(
            f"{_HANDLED} AND i.resolved IS NULL AND i.fcr_derived IS NOT NULL AND i.fcr_provisional"
        ),
        "0",
        "derived outcomes that later data may still change",
    ),
    Measure("transferred", _count(f"{_HANDLED} AND i.transferred"), "0", "handled, transferred"),
    Measure("escalated", _count(f"{_HANDLED} AND i.escalated"), "0", "handled, escalated"),
    # Surveys
    Measure("csat_n", _count("i.csat_norm IS NOT NULL"), "0", "CSAT responses"),
    Measure("csat_top2", _count("i.csat_top2"), "0", "top-2-box CSAT responses"),
    Measure(
        "csat_sum", _value("i.csat_norm IS NOT NULL", "i.csat_norm"), "0", "CSAT on the 1-5 scale"
    ),
    Measure(
        "csat_sq",
        _value("i.csat_norm IS NOT NULL", "i.csat_norm * i.csat_norm"),
        "0",
        "squares of CSAT on the 1-5 scale",
    ),
    Measure("nps_n", _count("i.nps IS NOT NULL"), "0", "NPS responses"),
    Measure("nps_promoters", _count("i.nps >= 9"), "0", "NPS responses of 9-10"),
    Measure("nps_detractors", _count("i.nps <= 6"), "0", "NPS responses of 0-6"),
    # Activity (WFM agent-days)
    Measure("scheduled_days", "0", _count(_SCHEDULED), "days with a schedule"),
    Measure("present_days", "0", _count(f"{_SCHEDULED} AND NOT d.absent"), "scheduled, present"),
    Measure("scheduled_s", "0", "COALESCE(d.scheduled_s, 0)", "scheduled seconds"),
    Measure("scheduled_sq", "0", "COALESCE(d.scheduled_s, 0) * COALESCE(d.scheduled_s, 0)", ""),
    Measure("adherent_s", "0", "COALESCE(d.adherent_s, 0)", "seconds in adherence"),
    Measure("adherent_sq", "0", "COALESCE(d.adherent_s, 0) * COALESCE(d.adherent_s, 0)", ""),
    Measure(
        "adherent_x_scheduled",
        "0",
        "COALESCE(d.adherent_s, 0) * COALESCE(d.scheduled_s, 0)",
        "cross products, for the interval of a ratio",
    ),
    Measure("logged_days", "0", _count(_LOGGED), "days with logged-in time"),
    Measure("logged_in_s", "0", "COALESCE(d.logged_in_s, 0)", "logged-in seconds"),
    Measure("logged_in_sq", "0", "COALESCE(d.logged_in_s, 0) * COALESCE(d.logged_in_s, 0)", ""),
    Measure("productive_s", "0", "COALESCE(d.productive_s, 0)", "productive seconds"),
    Measure("productive_sq", "0", "COALESCE(d.productive_s, 0) * COALESCE(d.productive_s, 0)", ""),
    Measure(
        "productive_x_logged_in",
        "0",
        "COALESCE(d.productive_s, 0) * COALESCE(d.logged_in_s, 0)",
        "cross products, for the interval of a ratio",
    ),
    # Quality: submitted evaluations outside calibration, dated by their contact's local day
    Measure("qa_n", "0", "0", "evaluations", evaluation_sql="1"),
    Measure("qa_sum", "0", "0", "evaluation scores 0-100", evaluation_sql="e.score"),
    Measure("qa_sq", "0", "0", "squares of evaluation scores", evaluation_sql="e.score * e.score"),
)

MEASURE_NAMES: tuple[str, ...] = tuple(measure.name for measure in MEASURES)
MEASURE_INDEX: dict[str, int] = {name: index for index, name in enumerate(MEASURE_NAMES)}
