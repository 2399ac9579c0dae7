"""org's declarations for the route crawler (see core/tests/crawler.py)."""

from __future__ import annotations

from coachloop.core.tests.crawler import IdRoute
from coachloop.org.models import Person, Program, Team

PUBLIC_ROUTES: set[str] = set()

ID_ROUTES = {
    "org:program": IdRoute(Program, lambda world: world.chat),
    "org:team": IdRoute(Team, lambda world: world.chat_a),
    "org:agent": IdRoute(Person, lambda world: world.chat_agent),
    "/api/v1/programs/{program_id}": IdRoute(Program, lambda world: world.chat),
    "/api/v1/teams/{team_id}": IdRoute(Team, lambda world: world.chat_a),
    "/api/v1/agents/{agent_id}": IdRoute(Person, lambda world: world.chat_agent),
}
