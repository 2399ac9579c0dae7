"""What an import stamps on each contact beyond the file: the agent's team at the time, the
days to recompute, and customer ids only as keyed hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import pytest

from coachloop.core.personas import World
from coachloop.ingest.tests.helpers import contact, contacts, import_text, problems
from coachloop.interactions.models import Interaction, RecomputeMark
from coachloop.org import services as org

# These tests are about which days an import marks; the rebuild that consumes them is tested
# in coachloop.metrics.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("marks_kept")]


def days(first: str, last: str) -> list[dt.date]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def marks() -> list[dt.date]:
    return sorted(RecomputeMark.objects.values_list("date", flat=True))


def test_a_contact_belongs_to_the_team_the_agent_was_on_that_day(
    world: World, tmp_path: Path
) -> None:
    org.membership_move(person=world.agent, team=world.care_b, on=dt.date(2026, 7, 1), by=None)
    text = contacts(
        contact("before-hire", started_at="2026-04-01T09:00:00Z"),
        contact("old-team", started_at="2026-06-30T22:30:00Z"),  # 23:30 BST, 30 June
        contact("new-team", started_at="2026-06-30T23:30:00Z"),  # 00:30 BST, 1 July
    )
    batch = import_text("interactions", text, tmp_path)
    assert problems(batch) == []
    teams = dict(Interaction.objects.values_list("external_id", "team_id"))
    assert teams == {"before-hire": None, "old-team": world.care_a.pk, "new-team": world.care_b.pk}


def test_an_import_marks_the_days_it_touched_and_the_seven_days_before(
    world: World, tmp_path: Path
) -> None:
    text = contacts(
        contact("c1", started_at="2026-06-10T09:00:00Z"),
        contact("c2", started_at="2026-06-20T09:00:00Z"),
    )
    batch = import_text("interactions", text, tmp_path)
    assert marks() == days("2026-06-03", "2026-06-10") + days("2026-06-13", "2026-06-20")
    assert set(RecomputeMark.objects.values_list("program", "reason")) == {
        (world.care.pk, f"import #{batch.pk}")
    }


def test_after_the_clocks_go_forward_the_window_reaches_an_eighth_day(
    world: World, tmp_path: Path
) -> None:
    # 168 hours before 00:00 BST on 30 March is 23:00 GMT on 22 March.
    import_text(
        "interactions", contacts(contact("c1", started_at="2026-03-30T09:00:00Z")), tmp_path
    )
    assert marks() == days("2026-03-22", "2026-03-30")


def test_a_corrected_contact_marks_its_old_day_and_its_new_one(
    world: World, tmp_path: Path
) -> None:
    latest = contact("latest", started_at="2026-06-30T09:00:00Z")
    first = contacts(contact("c1", started_at="2026-06-10T09:00:00Z"), latest)
    import_text("interactions", first, tmp_path)
    RecomputeMark.objects.all().delete()
    corrected = contacts(contact("c1", started_at="2026-06-20T09:00:00Z"), latest)
    import_text("interactions", corrected, tmp_path)
    assert marks() == days("2026-06-03", "2026-06-10") + days("2026-06-13", "2026-06-20")


def test_customer_ids_are_stored_only_as_keyed_hashes(
    world: World, tmp_path: Path, settings: object
) -> None:
    settings.COACHLOOP_HASH_KEY = "a-test-key"  # type: ignore[attr-defined]
    raw = "CUST-0042-jane@example.com"
    import_text("interactions", contacts(contact("c1", customer_ref=raw)), tmp_path)
    stored = Interaction.objects.values().get()
    assert not any(raw in str(value) for value in stored.values())
    expected = hmac.new(b"a-test-key", raw.encode(), hashlib.sha256).hexdigest()[:32]
    assert stored["customer_hash"] == expected
    # The same customer in a later file hashes the same, so repeats still match.
    import_text("interactions", contacts(contact("c2", customer_ref=raw)), tmp_path)
    assert set(Interaction.objects.values_list("customer_hash", flat=True)) == {expected}


def test_another_hash_key_gives_other_hashes(
    world: World, tmp_path: Path, settings: object
) -> None:
    settings.COACHLOOP_HASH_KEY = "key-one"  # type: ignore[attr-defined]
    import_text("interactions", contacts(contact("c1", customer_ref="K1")), tmp_path)
    settings.COACHLOOP_HASH_KEY = "key-two"  # type: ignore[attr-defined]
    import_text("interactions", contacts(contact("c2", customer_ref="K1")), tmp_path)
    assert len(set(Interaction.objects.values_list("customer_hash", flat=True))) == 2
