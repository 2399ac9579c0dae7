"""The QA pages (``/qa/``). Routes that take an id are registered for the route crawler in
``tests/routes.py``."""

from __future__ import annotations

from django.urls import path

from coachloop.quality import views

app_name = "quality"
urlpatterns = [
    path("qa/", views.home, name="home"),
    path("qa/programs/<int:pk>/policy", views.policy_edit, name="policy"),
    path("qa/evaluate/<int:pk>", views.evaluate, name="evaluate"),
    path("qa/evaluations/<int:pk>", views.evaluation_detail, name="evaluation"),
    path("qa/evaluations/<int:pk>/edit", views.evaluation_edit, name="evaluation-edit"),
    path("qa/evaluations/<int:pk>/dispute", views.dispute_resolve, name="dispute"),
    path("qa/agents/<int:pk>/evaluations", views.agent_evaluations, name="agent-evaluations"),
    path("qa/teams/<int:pk>", views.team_quality, name="team"),
    path("qa/scorecards", views.scorecard_list, name="scorecards"),
    path("qa/scorecards/<int:pk>", views.scorecard_detail, name="scorecard"),
    path("qa/scorecards/<int:pk>.json", views.scorecard_export, name="scorecard-json"),
    path("qa/calibrations", views.calibration_list, name="calibrations"),
    path("qa/calibrations/new", views.calibration_new, name="calibration-new"),
    path("qa/calibrations/<int:pk>", views.calibration_detail, name="calibration"),
    path("qa/calibrations/<int:pk>/report", views.calibration_report, name="calibration-report"),
]
