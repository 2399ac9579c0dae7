"""insights' declarations for the route crawler (see core/tests/crawler.py)."""

from __future__ import annotations

from coachloop.core.tests.crawler import IdRoute
from coachloop.org.models import Person, Team

PUBLIC_ROUTES: set[str] = set()
ID_ROUTES = {
    "/api/v1/agents/{agent_id}/diagnosis": IdRoute(Person, lambda world: world.chat_agent),
    "insights:queue": IdRoute(Team, lambda world: world.chat_a),
    "insights:diagnosis": IdRoute(Person, lambda world: world.chat_agent),
}
