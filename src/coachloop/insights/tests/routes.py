"""insights' declarations for the route crawler (see core/tests/crawler.py)."""

from __future__ import annotations

from coachloop.core.tests.crawler import IdRoute
from coachloop.org.models import Person

PUBLIC_ROUTES: set[str] = set()
ID_ROUTES = {
    "/api/v1/agents/{agent_id}/diagnosis": IdRoute(Person, lambda world: world.chat_agent),
}
