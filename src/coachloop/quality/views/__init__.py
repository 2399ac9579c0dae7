"""The QA pages under /qa/: the analyst's queue, the evaluation form (keyboard first, live score
through htmx, a plain post without JS), the evaluation page with acknowledgement and disputes,
an agent's evaluations, scorecards with JSON export and import, and calibration sessions.

Scope comes from the selectors (out of scope is a 404), permissions from ``selectors.can_*``
(403); the services' InvalidInput and Conflict are shown as form errors beside the field they
name, never as a 500."""

from __future__ import annotations

from coachloop.quality.views.calibrations import (
    calibration_detail,
    calibration_list,
    calibration_new,
    calibration_report,
)
from coachloop.quality.views.evaluation_form import evaluation_edit
from coachloop.quality.views.evaluations import (
    agent_evaluations,
    dispute_resolve,
    evaluation_detail,
    team_quality,
)
from coachloop.quality.views.policy import policy_edit
from coachloop.quality.views.queue import evaluate, home
from coachloop.quality.views.scorecards import scorecard_detail, scorecard_export, scorecard_list

__all__ = [
    "agent_evaluations",
    "calibration_detail",
    "calibration_list",
    "calibration_new",
    "calibration_report",
    "dispute_resolve",
    "evaluate",
    "evaluation_detail",
    "evaluation_edit",
    "home",
    "policy_edit",
    "scorecard_detail",
    "scorecard_export",
    "scorecard_list",
    "team_quality",
]
