"""metrics' declarations for the route crawler (see core/tests/crawler.py)."""

from __future__ import annotations

import datetime as dt

from coachloop.core.personas import World
from coachloop.core.tests.crawler import IdRoute
from coachloop.metrics.models import Exclusion, ExclusionKind
from coachloop.org.models import Person, Program, Team


def chat_exclusion(world: World) -> Exclusion:
    """An exclusion in the chat program, created directly (the service would recompute)."""
    exclusion = Exclusion.objects.filter(program=world.chat).first()
    if exclusion is None:
        exclusion = Exclusion.objects.create(
            program=world.chat,
            kind=ExclusionKind.DAY,
            start=dt.date(2026, 1, 5),
            end=dt.date(2026, 1, 5),
            reason="outage",
        )
    return exclusion


PUBLIC_ROUTES: set[str] = set()
ID_ROUTES = {
    "metrics:team-csv": IdRoute(Team, lambda world: world.chat_a),
    "metrics:targets": IdRoute(Program, lambda world: world.chat),
    "metrics:exclusions": IdRoute(Program, lambda world: world.chat),
    "metrics:exclusion-revert": IdRoute(Exclusion, chat_exclusion),
    "/api/v1/agents/{agent_id}/kpis": IdRoute(Person, lambda world: world.chat_agent),
    "/api/v1/teams/{team_id}/kpis": IdRoute(Team, lambda world: world.chat_a),
    "/api/v1/programs/{program_id}/kpis": IdRoute(Program, lambda world: world.chat),
}
