"""Files as contact centers really have them: encodings Excel and ACDs write, any delimiter,
CRLF line ends, XLSX with typed cells, JSON Lines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from coachloop.core.personas import World
from coachloop.ingest.models import BatchStatus
from coachloop.ingest.tests.helpers import (
    contact,
    contacts,
    counts,
    import_path,
    import_text,
    problems,
    table,
    write,
)
from coachloop.interactions.models import Interaction
from coachloop.org.models import Person

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NAMES = table(
    ["external_id", "name", "program", "team", "role"],
    [
        {
            "external_id": "Z1",
            "name": "Zoë Müller",
            "program": "care",
            "team": "care-a",
            "role": "agent",
        },
        {
            "external_id": "Z2",
            "name": "Señor Núñez",
            "program": "care",
            "team": "care-a",
            "role": "agent",
        },
    ],
)


def names() -> dict[str, str]:
    return dict(
        Person.objects.filter(external_id__in=["Z1", "Z2"]).values_list("external_id", "name")
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_the_encoding_is_detected(world: World, tmp_path: Path, encoding: str) -> None:
    batch = import_text("roster", NAMES, tmp_path, encoding=encoding)
    assert problems(batch) == []
    assert names() == {"Z1": "Zoë Müller", "Z2": "Señor Núñez"}


def test_utf16_tab_separated_text_as_excel_saves_it_is_read(world: World, tmp_path: Path) -> None:
    # Excel's "Unicode Text": UTF-16 little-endian with a BOM, tabs, CRLF line ends.
    text = NAMES.replace(",", "\t").replace("\n", "\r\n")
    batch = import_text("roster", text.encode("utf-16"), tmp_path, name="roster.txt")
    assert problems(batch) == []
    assert names() == {"Z1": "Zoë Müller", "Z2": "Señor Núñez"}


def test_a_queue_name_in_cp1252_survives(world: World, tmp_path: Path) -> None:
    text = contacts(contact("c1", queue="Facturación"), contact("c2", queue="Zoë"))
    batch = import_text("interactions", text, tmp_path, encoding="cp1252")
    assert problems(batch) == []
    assert sorted(Interaction.objects.values_list("queue", flat=True)) == ["Facturación", "Zoë"]


def test_a_cp1252_character_far_into_a_utf8_looking_file_is_still_read(
    world: World, tmp_path: Path
) -> None:
    rows = [contact(f"c{n}", started_at="2026-06-01T09:00:00Z") for n in range(2000)]
    rows.append(contact("last", queue="Facturación"))
    batch = import_text("interactions", contacts(*rows), tmp_path, encoding="cp1252")
    assert problems(batch) == []
    assert Interaction.objects.get(external_id="last").queue == "Facturación"


def test_a_file_in_another_encoding_than_the_one_given_is_refused_with_a_reason(
    world: World, tmp_path: Path
) -> None:
    path = write(tmp_path, "r.csv", NAMES, encoding="cp1252")
    batch = import_path("roster", path, encoding="utf-8")
    assert batch.status == BatchStatus.REJECTED
    assert "not valid utf-8" in batch.error
    assert names() == {}


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_delimiter_is_detected(world: World, tmp_path: Path, delimiter: str) -> None:
    text = table(
        ["external_id", "program", "channel", "agent", "started_at", "talk_s", "queue"],
        [
            {
                "external_id": "c1",
                "program": "care",
                "channel": "voice",
                "agent": "A1",
                "started_at": "2026-06-01 09:00:00",
                "talk_s": "12",
                "queue": "a, b",
            },
            {
                "external_id": "c2",
                "program": "care",
                "channel": "voice",
                "agent": "A2",
                "started_at": "2026-06-01 09:10:00",
                "talk_s": "13",
                "queue": "c",
            },
        ],
        delimiter=delimiter,
    )
    batch = import_text("interactions", text, tmp_path)
    assert problems(batch) == []
    assert sorted(Interaction.objects.values_list("queue", "talk_s")) == [
        ("a, b", 12.0),
        ("c", 13.0),
    ]


def test_crlf_line_ends_and_a_final_blank_line_are_fine(world: World, tmp_path: Path) -> None:
    text = contacts(contact("c1"), contact("c2")).replace("\n", "\r\n") + "\r\n"
    batch = import_text("interactions", text, tmp_path)
    assert counts(batch) == {"read": 2, "new": 2, "updated": 0, "unchanged": 0, "rejected": 0}


def test_the_delimiter_and_encoding_given_win_over_detection(world: World, tmp_path: Path) -> None:
    text = contacts(contact("c1")).replace(",", ";")
    path = write(tmp_path, "i.dat", text, encoding="latin-1")
    batch = import_path("interactions", path, file_format="csv", delimiter=";", encoding="latin-1")
    assert problems(batch) == []
    assert Interaction.objects.count() == 1


def xlsx(
    path: Path, sheets: dict[str, list[list[object]]], formats: dict[str, str] | None = None
) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for cell_range, number_format in (formats or {}).items():
            for row in sheet[cell_range]:
                for cell in row:
                    cell.number_format = number_format
    workbook.save(path)
    return path


def test_xlsx_with_real_date_time_and_duration_cells(world: World, tmp_path: Path) -> None:
    header = ["Id", "Agent", "Started", "Day", "Clock", "Talk", "Wrap", "Score"]
    rows = [
        header,
        [
            "x1",
            "A1",
            dt.datetime(2026, 6, 1, 9, 15, 30),
            dt.date(2026, 6, 1),
            dt.time(9, 15, 30),
            dt.timedelta(minutes=5, seconds=7),
            dt.time(0, 1, 30),
            5,
        ],
        [
            "x2",
            "A2",
            dt.datetime(2026, 6, 2, 0, 0, 0),
            dt.date(2026, 6, 2),
            dt.time(0, 0, 0),
            dt.timedelta(hours=1, seconds=0.6),
            dt.time(0, 0, 59, 600_000),
            4.0,
        ],
    ]
    path = xlsx(
        tmp_path / "export.xlsx",
        {"Notes": [["nothing here"]], "Calls": rows},
        formats={"F2:F3": "[h]:mm:ss", "C2:C3": "yyyy-mm-dd hh:mm:ss"},
    )
    mapping = """
[source]
sheet = "Calls"
[constants]
program = "care"
channel = "voice"
[columns]
external_id = "Id"
agent = "Agent"
started_at = "Started"
talk_s = { column = "Talk", duration = "hh:mm:ss" }
acw_s = { column = "Wrap", duration = "hh:mm:ss" }
csat = "Score"
"""
    batch = import_path("interactions", path, mapping=mapping)
    assert problems(batch) == []
    stored = {
        c.external_id: (c.started_at, c.talk_s, c.acw_s, c.csat_raw)
        for c in Interaction.objects.all()
    }
    assert stored == {
        # Naive cells are London time (BST in June); durations are rounded to the second.
        "x1": (dt.datetime(2026, 6, 1, 8, 15, 30, tzinfo=UTC), 307.0, 90.0, 5.0),
        "x2": (dt.datetime(2026, 6, 1, 23, 0, 0, tzinfo=UTC), 3601.0, 60.0, 4.0),
    }
    joined = mapping.replace(
        'started_at = "Started"',
        'started_at = { date = "Day", time = "Clock", format = "%Y-%m-%d %H:%M:%S" }',
    )
    batch = import_path("interactions", path, mapping=joined)
    assert problems(batch) == []
    assert counts(batch)["unchanged"] == 2


def test_an_xlsx_sheet_that_does_not_exist_is_named(world: World, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "export.xlsx", {"Calls": [["Id"], ["x"]]})
    batch = import_path("interactions", path, mapping='[source]\nsheet = "Cals"\n')
    assert batch.status == BatchStatus.REJECTED
    assert batch.error == "No sheet named 'Cals'; the sheets are Calls"


def test_json_lines_are_read_key_by_key(world: World, tmp_path: Path) -> None:
    lines = [
        {
            "external_id": "j1",
            "channel": "chat",
            "program": "chat",
            "agent": "C1",
            "started_at": "2026-06-01T09:00:00Z",
            "answered": True,
            "talk_s": 61.5,
        },
        # Keys may come in any order, or be left out when empty.
        {
            "started_at": "2026-06-01T10:00:00Z",
            "program": "chat",
            "channel": "chat",
            "external_id": "j2",
            "answered": False,
            "agent": None,
        },
        {
            "external_id": "j3",
            "channel": "chat",
            "program": "chat",
            "agent": "C1",
            "started_at": "2026-06-01T11:00:00Z",
            "csat": 4,
            "customer_ref": "K1",
        },
    ]
    path = write(tmp_path, "i.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    batch = import_path("interactions", path)
    assert problems(batch) == []
    stored = {
        c.external_id: (c.answered, c.agent_id, c.talk_s, c.csat_raw, c.customer_hash != "")
        for c in Interaction.objects.all()
    }
    assert stored == {
        "j1": (True, world.chat_agent.pk, 61.5, None, False),
        "j2": (False, None, None, None, False),
        "j3": (True, world.chat_agent.pk, None, 4.0, True),
    }


def test_a_line_that_is_not_a_json_object_is_a_row_error(world: World, tmp_path: Path) -> None:
    good = {
        "external_id": "j1",
        "channel": "chat",
        "program": "chat",
        "agent": "C1",
        "started_at": "2026-06-01T09:00:00Z",
    }
    text = json.dumps(good) + "\n{not json\n" + json.dumps({**good, "external_id": "j2"}) + "\n"
    batch = import_path("interactions", write(tmp_path, "i.jsonl", text), on_error="skip")
    assert problems(batch) == [(2, "(row)", "{not json", "a JSON object on one line")]
    assert Interaction.objects.count() == 2
