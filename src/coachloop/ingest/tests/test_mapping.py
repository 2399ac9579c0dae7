"""Every transform of a mapping file (CONTRACTS.md, "Mapping files"), one import each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from coachloop.core.errors import InvalidInput
from coachloop.core.personas import World
from coachloop.ingest.models import BatchStatus
from coachloop.ingest.services import import_create
from coachloop.ingest.tests.helpers import counts, import_text, problems, table, write
from coachloop.interactions.models import Interaction

pytestmark = pytest.mark.django_db

UTC = dt.UTC
BASE = """
[constants]
program = "care"
channel = "voice"
[columns]
external_id = "Id"
agent = "Agent Id"
started_at = "Start"
"""


def only(external_id: str) -> Interaction:
    return Interaction.objects.get(external_id=external_id)


def test_a_plain_column_names_the_source_column(world: World, tmp_path: Path) -> None:
    text = table(
        ["Id", "Agent Id", "Start"],
        [{"Id": "x1", "Agent Id": "A2", "Start": "2026-06-01T09:00:00Z"}],
    )
    batch = import_text("interactions", text, tmp_path, mapping=BASE)
    assert batch.status == BatchStatus.SUCCEEDED, problems(batch)
    assert only("x1").agent == world.agent2
    assert only("x1").started_at == dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def test_constants_set_a_field_for_every_row(world: World, tmp_path: Path) -> None:
    text = table(
        ["Id", "Agent Id", "Start"],
        [{"Id": "x1", "Agent Id": "A1", "Start": "2026-06-01T09:00:00Z"}],
    )
    mapping = BASE.replace('channel = "voice"', 'channel = "voice"\nqueue = "Sales UK"')
    import_text("interactions", text, tmp_path, mapping=mapping)
    contact = only("x1")
    assert (contact.program, contact.channel, contact.queue) == (world.care, "voice", "Sales UK")


def test_a_template_composes_an_id_from_several_columns(world: World, tmp_path: Path) -> None:
    mapping = BASE.replace('external_id = "Id"', 'external_id = { template = "{Line}-{Call Id}" }')
    text = table(
        ["Line", "Call Id", "Agent Id", "Start"],
        [{"Line": "L7", "Call Id": "991", "Agent Id": "A1", "Start": "2026-06-01T09:00:00Z"}],
    )
    batch = import_text("interactions", text, tmp_path, mapping=mapping)
    assert problems(batch) == []
    assert list(Interaction.objects.values_list("external_id", flat=True)) == ["L7-991"]


def test_a_date_and_a_time_column_are_joined_and_read_with_the_format(
    world: World, tmp_path: Path
) -> None:
    mapping = BASE.replace(
        'started_at = "Start"',
        'started_at = { date = "Day", time = "Clock", format = "%d/%m/%Y %H:%M" }',
    )
    text = table(
        ["Id", "Agent Id", "Day", "Clock"],
        [
            {"Id": "x1", "Agent Id": "A1", "Day": "02/06/2026", "Clock": "09:30"},
            {"Id": "x2", "Agent Id": "A1", "Day": "2026-06-02", "Clock": "09:30"},
        ],
    )
    batch = import_text("interactions", text, tmp_path, mapping=mapping, on_error="skip")
    # Naive local times are read in the program's zone: London is on BST (UTC+1) in June.
    assert only("x1").started_at == dt.datetime(2026, 6, 2, 8, 30, tzinfo=UTC)
    assert problems(batch) == [
        (
            2,
            "started_at",
            "2026-06-02 09:30",
            "a timestamp such as 2026-03-02T09:14:05+00:00 or matching %d/%m/%Y %H:%M",
        )
    ]


def test_a_map_translates_values_and_an_empty_string_means_unknown(
    world: World, tmp_path: Path
) -> None:
    mapping = BASE + (
        'answered = { column = "Outcome", map = { AGENT = true, HANG = false } }\n'
        'customer_ref = { column = "Customer", map = { "0" = "" } }\n'
    )
    columns = ["Id", "Agent Id", "Start", "Outcome", "Customer"]
    text = table(
        columns,
        [
            {
                "Id": "x1",
                "Agent Id": "A1",
                "Start": "2026-06-01T09:00:00Z",
                "Outcome": "AGENT",
                "Customer": "C-1",
            },
            {
                "Id": "x2",
                "Agent Id": "",
                "Start": "2026-06-01T09:05:00Z",
                "Outcome": "HANG",
                "Customer": "0",
            },
            {
                "Id": "x3",
                "Agent Id": "A1",
                "Start": "2026-06-01T09:06:00Z",
                "Outcome": "MAYBE",
                "Customer": "C-2",
            },
        ],
    )
    batch = import_text("interactions", text, tmp_path, mapping=mapping, on_error="skip")
    assert only("x1").answered is True
    assert only("x2").answered is False
    assert only("x2").customer_hash == ""
    assert only("x1").customer_hash != ""
    # An unlisted value passes through and is then checked as the field: MAYBE is no boolean.
    assert problems(batch) == [(3, "Outcome", "MAYBE", "true/false, 1/0, yes/no or y/n")]
    assert counts(batch)["rejected"] == 1


def test_a_map_can_give_a_value_to_empty_cells(world: World, tmp_path: Path) -> None:
    mapping = BASE + 'transferred = { column = "Xfer", map = { "" = "yes", "N" = "no" } }\n'
    text = table(
        ["Id", "Agent Id", "Start", "Xfer"],
        [
            {"Id": "x1", "Agent Id": "A1", "Start": "2026-06-01T09:00:00Z", "Xfer": "N"},
            {"Id": "x2", "Agent Id": "A1", "Start": "2026-06-01T09:00:00Z", "Xfer": ""},
        ],
    )
    batch = import_text("interactions", text, tmp_path, mapping=mapping)
    assert problems(batch) == []
    assert (only("x1").transferred, only("x2").transferred) == (False, True)


def test_durations_are_read_in_the_unit_the_mapping_names(world: World, tmp_path: Path) -> None:
    mapping = BASE + (
        'wait_s = "Wait"\n'
        'talk_s = { column = "Talk", duration = "hh:mm:ss" }\n'
        'hold_s = { column = "Hold", duration = "mm:ss" }\n'
        'acw_s = { column = "Wrap", duration = "ms" }\n'
    )
    minutes = mapping.replace('duration = "ms"', 'duration = "minutes"')
    columns = ["Id", "Agent Id", "Start", "Wait", "Talk", "Hold", "Wrap"]
    row = {"Id": "x1", "Agent Id": "A1", "Start": "2026-06-01T09:00:00Z"}
    text = table(
        columns, [{**row, "Wait": "12.5", "Talk": "1:02:03", "Hold": "04:30", "Wrap": "45500"}]
    )
    batch = import_text("interactions", text, tmp_path, mapping=mapping)
    assert problems(batch) == []
    contact = only("x1")
    assert (contact.wait_s, contact.talk_s, contact.hold_s, contact.acw_s) == (
        12.5,
        3723.0,
        270.0,
        45.5,
    )
    text = table(columns, [{**row, "Talk": "0:00:10", "Wrap": "1.5"}])
    import_text("interactions", text, tmp_path, mapping=minutes)
    assert only("x1").acw_s == 90.0


def test_a_duration_that_does_not_match_its_unit_is_a_row_error(
    world: World, tmp_path: Path
) -> None:
    mapping = BASE + 'talk_s = { column = "Talk", duration = "hh:mm:ss" }\n'
    text = table(
        ["Id", "Agent Id", "Start", "Talk"],
        [{"Id": "x1", "Agent Id": "A1", "Start": "2026-06-01T09:00:00Z", "Talk": "300"}],
    )
    batch = import_text("interactions", text, tmp_path, mapping=mapping)
    assert problems(batch) == [(1, "Talk", "300", "a duration in hh:mm:ss")]


def test_a_csat_scale_on_the_column_applies_to_every_row(world: World, tmp_path: Path) -> None:
    mapping = BASE + 'csat = { column = "Score", scale = "0-10" }\n'
    row = {"Agent Id": "A1", "Start": "2026-06-01T09:00:00Z"}
    text = table(
        ["Id", "Agent Id", "Start", "Score"],
        [
            {**row, "Id": "x1", "Score": "9"},
            {**row, "Id": "x2", "Score": "5"},
            {**row, "Id": "x3", "Score": ""},
        ],
    )
    import_text("interactions", text, tmp_path, mapping=mapping)
    nine, five, blank = only("x1"), only("x2"), only("x3")
    assert (nine.csat_raw, nine.csat_scale, nine.csat_norm, nine.csat_top2) == (
        9.0,
        "0-10",
        4.6,
        True,
    )
    assert (five.csat_raw, five.csat_norm, five.csat_top2) == (5.0, 3.0, False)
    assert (blank.csat_raw, blank.csat_scale, blank.csat_top2) == (None, "", None)


def test_the_source_name_is_part_of_the_natural_key(world: World, tmp_path: Path) -> None:
    text = table(
        ["Id", "Agent Id", "Start"],
        [{"Id": "x1", "Agent Id": "A1", "Start": "2026-06-01T09:00:00Z"}],
    )
    import_text("interactions", text, tmp_path, mapping='[source]\nname = "acd-main"\n' + BASE)
    import_text("interactions", text, tmp_path, mapping='[source]\nname = "crm"\n' + BASE)
    assert sorted(Interaction.objects.values_list("source", flat=True)) == ["acd-main", "crm"]


def test_a_mapping_for_another_kind_is_refused(world: World, tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "a\n1\n")
    with pytest.raises(InvalidInput) as refused:
        import_create(
            kind="interactions",
            path=path,
            file_name="x.csv",
            by=None,
            mapping_text='[source]\nkind = "roster"\n',
        )
    assert refused.value.message == (
        "Mapping file: source.kind = 'roster' is not valid, expected 'interactions', "
        "the kind being imported"
    )


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ('[source]\ndelimeter = ";"\n', "source.delimeter"),
        ('[columns]\nagnet = "Agent"\n', "columns.agnet"),
        ('[constants]\nprogramme = "care"\n', "constants.programme"),
        ('[columns]\nstarted_at = { date = "D", formt = "%d" }\n', "columns.started_at.formt"),
        ('[colums]\nagent = "Agent"\n', "colums"),
        ('[columns]\ntalk_s = { column = "T", duration = "hours" }\n', "columns.talk_s.duration"),
        ('[columns]\ncsat = { column = "C", scale = "1-7" }\n', "columns.csat.scale"),
        ('[source]\ntimezone = "Mars/Olympus"\n', "source.timezone"),
        ('[source]\nencoding = "klingon"\n', "source.encoding"),
        ('[source]\nname = "acd main"\n', "source.name"),
    ],
)
def test_a_bad_key_in_the_mapping_is_named_in_the_error(
    world: World, tmp_path: Path, mapping: str, key: str
) -> None:
    path = write(tmp_path, "x.csv", "a\n1\n")
    with pytest.raises(InvalidInput) as refused:
        import_create(
            kind="interactions", path=path, file_name="x.csv", by=None, mapping_text=mapping
        )
    assert refused.value.message.startswith(f"Mapping file: {key} = ")
    assert refused.value.details[0].column == key


def test_naive_times_are_read_in_the_mappings_time_zone_else_the_programs(
    world: World, tmp_path: Path
) -> None:
    text = table(
        ["Id", "Agent Id", "Start"],
        [{"Id": "x1", "Agent Id": "A1", "Start": "2026-06-01 23:30:00"}],
    )
    import_text("interactions", text, tmp_path, mapping=BASE)
    assert only("x1").started_at == dt.datetime(2026, 6, 1, 22, 30, tzinfo=UTC)  # London, BST
    new_york = '[source]\ntimezone = "America/New_York"\n' + BASE
    batch = import_text("interactions", text, tmp_path, mapping=new_york)
    assert counts(batch)["updated"] == 1
    contact = only("x1")
    assert contact.started_at == dt.datetime(2026, 6, 2, 3, 30, tzinfo=UTC)
    # The local day is always the program's (London), whatever zone the file was written in.
    assert contact.local_date == dt.date(2026, 6, 2)


def test_times_with_an_offset_ignore_the_time_zone(world: World, tmp_path: Path) -> None:
    text = table(
        ["Id", "Agent Id", "Start"],
        [
            {"Id": "x1", "Agent Id": "A1", "Start": "2026-06-01T09:00:00+02:00"},
            {"Id": "x2", "Agent Id": "A1", "Start": "2026-06-01T09:00:00Z"},
            {"Id": "x3", "Agent Id": "A1", "Start": "2026-06-01T09:00:00.250-0500"},
        ],
    )
    batch = import_text(
        "interactions", text, tmp_path, mapping='[source]\ntimezone = "Asia/Tokyo"\n' + BASE
    )
    assert problems(batch) == []
    assert only("x1").started_at == dt.datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    assert only("x2").started_at == dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert only("x3").started_at == dt.datetime(2026, 6, 1, 14, 0, 0, 250_000, tzinfo=UTC)


def test_unmapped_columns_are_listed_on_the_batch(world: World, tmp_path: Path) -> None:
    text = table(
        ["Id", "Agent Id", "Start", "Notes", "Skill"],
        [
            {
                "Id": "x1",
                "Agent Id": "A1",
                "Start": "2026-06-01T09:00:00Z",
                "Notes": "n",
                "Skill": "s",
            }
        ],
    )
    batch = import_text("interactions", text, tmp_path, mapping=BASE)
    assert batch.unmapped_columns == ["Notes", "Skill"]
