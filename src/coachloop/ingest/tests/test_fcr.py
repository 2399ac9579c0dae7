"""Derived FCR (ARCHITECTURE.md, "Derived FCR"): a handled contact with a known customer is
resolved unless the same customer contacts the same program again on the same call type (the
queue when there is none) within the following 168 hours."""

from __future__ import annotations

from pathlib import Path

import pytest

from coachloop.core.personas import World
from coachloop.ingest.tests.helpers import contact, contacts, import_text, problems
from coachloop.interactions.models import Interaction

pytestmark = pytest.mark.django_db


def fcr() -> dict[str, bool | None]:
    return dict(Interaction.objects.values_list("external_id", "fcr_derived"))


def provisional() -> dict[str, bool]:
    return dict(Interaction.objects.values_list("external_id", "fcr_provisional"))


def load(tmp_path: Path, *rows: dict[str, str]) -> None:
    batch = import_text("interactions", contacts(*rows), tmp_path)
    assert problems(batch) == []


def at(day: int, hour: int = 9, minute: int = 0) -> str:
    return f"2026-06-{day:02d}T{hour:02d}:{minute:02d}:00Z"


def test_a_repeat_within_168_hours_makes_the_first_contact_unresolved(
    world: World, tmp_path: Path
) -> None:
    load(
        tmp_path,
        contact("first", customer_ref="K1", call_type="billing", started_at=at(1)),
        contact("repeat", customer_ref="K1", call_type="billing", started_at=at(8)),  # +168 h
        contact("later", customer_ref="K1", call_type="billing", started_at=at(15, 10)),  # +169 h
    )
    assert fcr() == {"first": False, "repeat": True, "later": True}


def test_a_repeat_at_169_hours_does_not_count(world: World, tmp_path: Path) -> None:
    load(
        tmp_path,
        contact("first", customer_ref="K1", started_at=at(1)),
        contact("late", customer_ref="K1", started_at=at(8, 10)),
    )
    assert fcr() == {"first": True, "late": True}


def test_an_unanswered_repeat_counts_and_is_not_itself_scored(world: World, tmp_path: Path) -> None:
    load(
        tmp_path,
        contact("first", customer_ref="K1", started_at=at(1)),
        contact("abandoned", customer_ref="K1", started_at=at(2), answered="false", agent=""),
    )
    assert fcr() == {"first": False, "abandoned": None}


def test_a_contact_with_no_known_customer_is_left_out(world: World, tmp_path: Path) -> None:
    load(
        tmp_path,
        contact("anonymous", customer_ref="", started_at=at(1)),
        contact("other", customer_ref="", started_at=at(2)),
    )
    assert fcr() == {"anonymous": None, "other": None}


def test_the_queue_stands_in_for_a_missing_call_type(world: World, tmp_path: Path) -> None:
    load(
        tmp_path,
        contact("q1", customer_ref="K1", call_type="", queue="moves", started_at=at(1)),
        contact("q2", customer_ref="K1", call_type="", queue="moves", started_at=at(2)),
        contact("t1", customer_ref="K2", call_type="meter", queue="moves", started_at=at(1)),
        contact("t2", customer_ref="K2", call_type="tariff", queue="moves", started_at=at(2)),
    )
    assert fcr() == {"q1": False, "q2": True, "t1": True, "t2": True}
    assert Interaction.objects.get(external_id="q1").fcr_topic == "moves"


def test_the_sources_resolved_flag_is_stored_apart_from_the_derivation(
    world: World, tmp_path: Path
) -> None:
    load(
        tmp_path,
        contact("first", customer_ref="K1", resolved="yes", started_at=at(1)),
        contact("repeat", customer_ref="K1", resolved="no", started_at=at(2)),
    )
    stored = dict((c.external_id, (c.resolved, c.fcr_derived)) for c in Interaction.objects.all())
    assert stored == {"first": (True, False), "repeat": (False, True)}


def test_repeats_are_looked_for_inside_the_same_program_only(world: World, tmp_path: Path) -> None:
    load(
        tmp_path,
        contact("care", customer_ref="K1", call_type="billing", started_at=at(1)),
        contact(
            "chat",
            customer_ref="K1",
            call_type="billing",
            started_at=at(2),
            program="chat",
            channel="chat",
            agent="C1",
        ),
    )
    assert fcr() == {"care": True, "chat": True}
    hashes = set(Interaction.objects.values_list("customer_hash", flat=True))
    assert len(hashes) == 1  # the same customer, hashed alike in both programs


def test_a_repeat_in_a_later_import_reopens_the_first_contact(world: World, tmp_path: Path) -> None:
    load(tmp_path, contact("first", customer_ref="K1", started_at=at(1)))
    assert fcr() == {"first": True}
    load(tmp_path, contact("repeat", customer_ref="K1", started_at=at(3)))
    assert fcr() == {"first": False, "repeat": True}


def test_contacts_within_168_hours_of_the_latest_are_provisional_until_newer_data_comes(
    world: World, tmp_path: Path
) -> None:
    load(
        tmp_path,
        contact("old", customer_ref="K1", started_at=at(1)),
        contact("recent", customer_ref="K2", started_at=at(9)),
        contact("latest", customer_ref="K3", started_at=at(10)),
    )
    assert provisional() == {"old": False, "recent": True, "latest": True}
    # A day's new contacts make the earlier ones final, though this file does not name them.
    load(tmp_path, contact("next", customer_ref="K9", started_at=at(16)))
    assert provisional() == {"old": False, "recent": False, "latest": True, "next": True}
    assert fcr() == {"old": True, "recent": True, "latest": True, "next": True}


def test_a_corrected_file_that_forgets_the_customer_clears_the_derivation(
    world: World, tmp_path: Path
) -> None:
    load(
        tmp_path,
        contact("first", customer_ref="K1", started_at=at(1)),
        contact("repeat", customer_ref="K1", started_at=at(2)),
    )
    load(
        tmp_path,
        contact("first", customer_ref="K1", started_at=at(1)),
        contact("repeat", customer_ref="", started_at=at(2)),
    )
    assert fcr() == {"first": True, "repeat": None}


def test_a_contact_moved_out_of_the_window_no_longer_counts_as_a_repeat(
    world: World, tmp_path: Path
) -> None:
    load(
        tmp_path,
        contact("first", customer_ref="K1", started_at=at(1)),
        contact("repeat", customer_ref="K1", started_at=at(2)),
        contact("filler", customer_ref="K5", started_at=at(30)),
    )
    assert fcr()["first"] is False
    load(tmp_path, contact("repeat", customer_ref="K1", started_at=at(20)))
    assert fcr() == {"first": True, "repeat": True, "filler": True}


def brute_force_fcr() -> dict[str, tuple[bool | None, bool]]:
    """The definition, row by row in Python: what the set-based SQL must agree with."""
    import datetime as dt

    rows = list(
        Interaction.objects.values_list(
            "external_id", "program_id", "customer_hash", "fcr_topic", "started_at", "answered"
        )
    )
    latest = max(row[4] for row in rows)
    window = dt.timedelta(hours=168)
    expected = {}
    for external_id, program, customer, topic, started, answered in rows:
        if not answered or not customer:
            expected[external_id] = (None, False)
            continue
        repeated = any(
            other[1] == program
            and other[2] == customer
            and other[3] == topic
            and started < other[4] <= started + window
            for other in rows
        )
        expected[external_id] = (not repeated, started > latest - window)
    return expected


def test_derived_fcr_equals_the_definition_after_overlapping_imports(
    world: World, tmp_path: Path
) -> None:
    import random

    rng = random.Random(20261127)

    def batch(count: int, prefix: str, reuse: list[str]) -> list[dict[str, str]]:
        rows = []
        ids = reuse + [f"{prefix}{number}" for number in range(count)]
        for external_id in ids:
            day, hour = rng.randint(1, 20), rng.randint(8, 18)
            rows.append(
                contact(
                    external_id,
                    customer_ref=rng.choice(["", "K1", "K2", "K3", "K4"]),
                    call_type=rng.choice(["billing", "outage", ""]),
                    queue="q",
                    answered=rng.choice(["true", "true", "true", "false"]),
                    agent="A1",
                    started_at=at(day, hour, rng.randint(0, 59)),
                )
            )
        for row in rows:
            if row["answered"] == "false":
                row["agent"] = ""
        return rows

    first = batch(60, "f", [])
    load(tmp_path, *first)
    # The second file moves and re-times some of the first file's contacts and adds new ones.
    moved = [row["external_id"] for row in first[:25]]
    load(tmp_path, *batch(40, "s", moved))
    stored = {
        external_id: (derived, provisional_flag)
        for external_id, derived, provisional_flag in Interaction.objects.values_list(
            "external_id", "fcr_derived", "fcr_provisional"
        )
    }
    assert stored == brute_force_fcr()
