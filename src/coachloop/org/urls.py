from __future__ import annotations

from django.urls import path

from coachloop.org import views

app_name = "org"
urlpatterns = [
    path("programs/<int:pk>/", views.program_detail, name="program"),
    path("teams/<int:pk>/", views.team_detail, name="team"),
    path("agents/<int:pk>/", views.agent_detail, name="agent"),
]
