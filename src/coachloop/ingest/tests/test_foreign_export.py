"""The worked example of docs/imports.md: an ACD export shaped nothing like ours, brought in
end to end through a mapping file and the command line."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from coachloop.core.personas import World
from coachloop.ingest.models import ImportBatch
from coachloop.ingest.tests.helpers import counts, write
from coachloop.interactions.models import Interaction

pytestmark = pytest.mark.django_db

UTC = dt.UTC

EXPORT = """\
Call Id;Line;Date;Time;Agent;Outcome;Customer;Queue;Talk;Rating;Wrap note
100234;L1;01/06/2026;09:14:05;acd-A1;AGENT;C-881;Facturación;0:05:12;5;ok
100235;L1;01/06/2026;09:20:44;;HANG;0;Facturación;;;
100236;L2;01/06/2026;10:02:10;acd-A2;AGENT;C-881;Facturación;0:12:40;2;call back
100234;L2;02/06/2026;08:59:59;acd-B1;AGENT;C-990;Mudanzas;1:02:03;;
"""

MAPPING = """\
[source]
kind = "interactions"
name = "acd"                 # agents are named by their ACD ids
delimiter = ";"
encoding = "cp1252"
timezone = "Europe/London"   # the export's times are London wall-clock times

[constants]
program = "care"
channel = "voice"

[columns]
external_id = { template = "{Line}-{Call Id}" }
started_at = { date = "Date", time = "Time", format = "%d/%m/%Y %H:%M:%S" }
agent = "Agent"
answered = { column = "Outcome", map = { AGENT = true, HANG = false } }
customer_ref = { column = "Customer", map = { "0" = "" } }
queue = "Queue"
talk_s = { column = "Talk", duration = "hh:mm:ss" }
csat = { column = "Rating", scale = "1-5" }
"""


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("import", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_an_acd_export_comes_in_through_its_mapping(world: World, tmp_path: Path) -> None:
    export = write(tmp_path, "calls.csv", EXPORT, encoding="cp1252")
    mapping = write(tmp_path, "acd.toml", MAPPING)

    code, out = run("interactions", str(export), "--mapping", str(mapping), "--dry-run")
    assert code == 0
    assert "checked (dry run, nothing written)" in out
    assert Interaction.objects.count() == 0

    code, out = run("interactions", str(export), "--mapping", str(mapping))
    assert code == 0, out
    batch = ImportBatch.objects.order_by("pk").last()
    assert batch is not None
    assert counts(batch) == {"read": 4, "new": 4, "updated": 0, "unchanged": 0, "rejected": 0}
    assert "  columns not imported: Wrap note" in out.splitlines()
    stored = {
        c.external_id: (
            c.started_at,
            c.agent.external_id if c.agent else None,
            c.answered,
            c.queue,
            c.talk_s,
            c.csat_raw,
            c.customer_hash != "",
            c.fcr_derived,
            c.source,
        )
        for c in Interaction.objects.select_related("agent")
    }
    assert stored == {
        "L1-100234": (
            dt.datetime(2026, 6, 1, 8, 14, 5, tzinfo=UTC),
            "A1",
            True,
            "Facturación",
            312.0,
            5.0,
            True,
            False,
            "acd",
        ),
        "L1-100235": (
            dt.datetime(2026, 6, 1, 8, 20, 44, tzinfo=UTC),
            None,
            False,
            "Facturación",
            None,
            None,
            False,
            None,
            "acd",
        ),
        "L2-100236": (
            dt.datetime(2026, 6, 1, 9, 2, 10, tzinfo=UTC),
            "A2",
            True,
            "Facturación",
            760.0,
            2.0,
            True,
            True,
            "acd",
        ),
        "L2-100234": (
            dt.datetime(2026, 6, 2, 7, 59, 59, tzinfo=UTC),
            "B1",
            True,
            "Mudanzas",
            3723.0,
            None,
            True,
            True,
            "acd",
        ),
    }

    code, out = run("interactions", str(export), "--mapping", str(mapping))
    assert code == 0
    assert "  unchanged           4" in out.splitlines()


def test_a_bad_value_in_the_export_is_named_by_the_exports_own_column(
    world: World, tmp_path: Path
) -> None:
    broken = EXPORT.replace("0:12:40;2;", "0:12:40;7;").replace("AGENT;C-990", "MAYBE;C-990")
    export = write(tmp_path, "calls.csv", broken, encoding="cp1252")
    mapping = write(tmp_path, "acd.toml", MAPPING)
    code, out = run("interactions", str(export), "--mapping", str(mapping))
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("row ")] == [
        "row 3, column Rating: '7' — expected an integer from 1 to 5 (the 1-5 scale)",
        "row 4, column Outcome: 'MAYBE' — expected true/false, 1/0, yes/no or y/n",
    ]
    assert Interaction.objects.count() == 0
