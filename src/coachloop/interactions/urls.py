from __future__ import annotations

from django.urls import path

from coachloop.interactions import views

app_name = "interactions"
urlpatterns = [
    path("interactions/", views.interaction_list, name="list"),
    path("interactions/<int:pk>/", views.interaction_detail, name="detail"),
]
