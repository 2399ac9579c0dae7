"""The coaching pages. Routes that take an id are registered for the route crawler in
``tests/routes.py``."""

from __future__ import annotations

from django.urls import path

from coachloop.insights import views

app_name = "insights"
urlpatterns = [
    path("coaching/me", views.my_coaching, name="me"),
    path("coaching/teams/<int:team_id>/queue", views.team_queue, name="queue"),
    path("coaching/agents/<int:agent_id>/diagnosis", views.agent_diagnosis, name="diagnosis"),
]
