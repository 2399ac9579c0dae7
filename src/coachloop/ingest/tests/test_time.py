"""Time: naive local times and daylight saving, and each contact's local day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from coachloop.core.personas import World
from coachloop.ingest.tests.helpers import contact, contacts, import_text, problems
from coachloop.interactions.models import Interaction

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def test_a_local_time_in_the_spring_forward_gap_is_a_row_error(
    world: World, tmp_path: Path
) -> None:
    # Europe/London jumps from 01:00 to 02:00 on 2026-03-29: 01:30 never happened.
    text = contacts(
        contact("gap", started_at="2026-03-29 01:30:00"),
        contact("after", started_at="2026-03-29 02:30:00"),
    )
    batch = import_text("interactions", text, tmp_path, on_error="skip")
    assert problems(batch) == [
        (
            1,
            "started_at",
            "2026-03-29 01:30:00",
            "a local time that exists in Europe/London (this one falls in the daylight-saving gap)",
        )
    ]
    assert Interaction.objects.get().started_at == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_a_repeated_local_hour_takes_the_earlier_instant_with_a_warning(
    world: World, tmp_path: Path
) -> None:
    # On 2026-10-25 London's clocks go back from 02:00 BST to 01:00 GMT: 01:30 happens twice.
    text = contacts(
        contact("twice", started_at="2026-10-25 01:30:00"),
        contact("once", started_at="2026-10-25 02:30:00"),
        contact("explicit", started_at="2026-10-25T01:30:00+00:00"),
    )
    batch = import_text("interactions", text, tmp_path)
    assert problems(batch) == []
    started = dict(Interaction.objects.values_list("external_id", "started_at"))
    assert started == {
        "twice": dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        "once": dt.datetime(2026, 10, 25, 2, 30, tzinfo=UTC),
        "explicit": dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    }
    assert batch.warnings == 1
    assert problems(batch, warnings=True) == [
        (
            1,
            "started_at",
            "2026-10-25 01:30:00",
            "an unambiguous local time: this hour repeats when the clocks go back, "
            "the earlier instant was taken",
        )
    ]


def test_the_local_date_is_the_programs_day(world: World, tmp_path: Path) -> None:
    text = contacts(
        # 23:30 in New York on 1 June is 03:30 UTC on 2 June: the contact is of 1 June.
        contact(
            "late", program="chat", channel="chat", agent="C1", started_at="2026-06-01 23:30:00"
        ),
        contact(
            "utc", program="chat", channel="chat", agent="C1", started_at="2026-06-02T02:00:00Z"
        ),
        # 23:30 UTC on 1 June is 00:30 on 2 June in London (BST).
        contact("london", started_at="2026-06-01T23:30:00Z"),
    )
    batch = import_text("interactions", text, tmp_path)
    assert problems(batch) == []
    stored = {c.external_id: (c.started_at, c.local_date) for c in Interaction.objects.all()}
    assert stored == {
        "late": (dt.datetime(2026, 6, 2, 3, 30, tzinfo=UTC), dt.date(2026, 6, 1)),
        "utc": (dt.datetime(2026, 6, 2, 2, 0, tzinfo=UTC), dt.date(2026, 6, 1)),
        "london": (dt.datetime(2026, 6, 1, 23, 30, tzinfo=UTC), dt.date(2026, 6, 2)),
    }
