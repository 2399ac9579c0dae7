"""interactions' declarations for the route crawler (see core/tests/crawler.py)."""

from __future__ import annotations

import datetime as dt

from coachloop.core.personas import World
from coachloop.core.tests.crawler import IdRoute
from coachloop.interactions.models import Interaction


def chat_contact(world: World) -> Interaction:
    """A contact handled in the chat program."""
    contact = Interaction.objects.filter(program=world.chat).first()
    if contact is None:
        contact = Interaction.objects.create(
            program=world.chat,
            external_id="crawler-1",
            channel="chat",
            agent=world.chat_agent,
            team=world.chat_a,
            started_at=dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC),
            local_date=dt.date(2026, 1, 5),
            answered=True,
            talk_s=300,
        )
    return contact


PUBLIC_ROUTES: set[str] = set()
ID_ROUTES = {
    "interactions:detail": IdRoute(Interaction, chat_contact),
    "/api/v1/interactions/{interaction_id}": IdRoute(Interaction, chat_contact),
}
