"""Every kind of row error names its row, its column, the value and what was expected; the
command prints each as ``row N, column C: 'value' — expected ...``."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from coachloop.core.errors import NotAllowed
from coachloop.core.personas import World
from coachloop.ingest.models import BatchStatus, ImportBatch, ImportProblem
from coachloop.ingest.services import import_create
from coachloop.ingest.tests.helpers import (
    contact,
    contacts,
    counts,
    import_text,
    problems,
    table,
    write,
)
from coachloop.interactions.models import Interaction
from coachloop.org.models import Person

pytestmark = pytest.mark.django_db

BOOL = "true/false, 1/0, yes/no or y/n"
RANGE = "a duration from 0 to 86,400 seconds"


def cli(*args: str) -> tuple[int, str]:
    """Run ``coachloop import ...``; returns the exit code and what it printed."""
    out = io.StringIO()
    try:
        call_command("import", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_values_of_the_wrong_type_are_named_with_row_column_and_expectation(
    world: World, tmp_path: Path
) -> None:
    text = contacts(
        contact("ok"),
        contact("c2", channel="fax"),
        contact("c3", answered="MAYBE"),
        contact("c4", talk_s="abc"),
        contact("c5", nps="11"),
        contact("c6", started_at="yesterday"),
        contact("c7", csat="abc"),
        contact("c8", program="Care Team"),
        contact("c9", csat_scale="1-7", csat="3"),
        contact("c10", escalated="2"),
    )
    batch = import_text("interactions", text, tmp_path)
    assert batch.status == BatchStatus.REJECTED
    assert problems(batch) == [
        (2, "channel", "fax", "one of voice, chat, email, sms, social"),
        (3, "answered", "MAYBE", BOOL),
        (4, "talk_s", "abc", "a duration in seconds"),
        (5, "nps", "11", "an integer 0-10"),
        (6, "started_at", "yesterday", "a timestamp such as 2026-03-02T09:14:05+00:00"),
        (7, "csat", "abc", "an integer from 1 to 5 (the 1-5 scale)"),
        (8, "program", "Care Team", "a code of letters, digits, '-' or '_'"),
        (9, "csat_scale", "1-7", "one of 1-5, 1-10, 0-10, percent"),
        (10, "escalated", "2", BOOL),
    ]
    assert counts(batch) == {"read": 10, "new": 0, "updated": 0, "unchanged": 0, "rejected": 9}
    assert Interaction.objects.count() == 0


def test_durations_must_lie_between_0_and_86400_seconds(world: World, tmp_path: Path) -> None:
    text = contacts(
        contact("c1", wait_s="-1"),
        contact("c2", talk_s="86401"),
        contact("c3", hold_s="86400", acw_s="0"),
    )
    batch = import_text("interactions", text, tmp_path, on_error="skip")
    assert problems(batch) == [(1, "wait_s", "-1", RANGE), (2, "talk_s", "86401", RANGE)]
    assert list(Interaction.objects.values_list("external_id", "hold_s", "acw_s")) == [
        ("c3", 86400.0, 0.0)
    ]
    # 86,400 s is valid but implausible: kept, with a warning.
    assert problems(batch, warnings=True) == [
        (3, "hold_s", "86400.0", "a plausible duration (at most 14,400 s); kept as given")
    ]
    assert batch.warnings == 1


def test_csat_must_lie_on_its_scale(world: World, tmp_path: Path) -> None:
    text = contacts(
        contact("c1", csat="6"),
        contact("c2", csat="0"),
        contact("c3", csat="4.5"),
        contact("c4", csat="11", csat_scale="0-10"),
        contact("c5", csat="0", csat_scale="1-10"),
        contact("c6", csat="101", csat_scale="percent"),
        contact("c7", csat="87.5", csat_scale="percent"),
        contact("c8", csat="0", csat_scale="0-10"),
        contact("c9", csat="5"),
    )
    batch = import_text("interactions", text, tmp_path, on_error="skip")
    assert problems(batch) == [
        (1, "csat", "6", "an integer from 1 to 5 (the 1-5 scale)"),
        (2, "csat", "0", "an integer from 1 to 5 (the 1-5 scale)"),
        (3, "csat", "4.5", "an integer from 1 to 5 (the 1-5 scale)"),
        (4, "csat", "11", "an integer from 0 to 10 (the 0-10 scale)"),
        (5, "csat", "0", "an integer from 1 to 10 (the 1-10 scale)"),
        (6, "csat", "101", "a number from 0 to 100 (the percent scale)"),
    ]
    kept = {
        c.external_id: (c.csat_raw, c.csat_scale, c.csat_norm, c.csat_top2)
        for c in Interaction.objects.all()
    }
    assert kept == {
        "c7": (87.5, "percent", 4.5, True),
        "c8": (0.0, "0-10", 1.0, False),
        "c9": (5.0, "1-5", 5.0, True),
    }


def test_a_contact_more_than_five_minutes_in_the_future_is_refused(
    world: World, tmp_path: Path
) -> None:
    # The tests run at 2026-11-20 12:00 UTC.
    text = contacts(
        contact("c1", started_at="2026-11-20T12:04:00Z"),
        contact("c2", started_at="2026-11-20T12:06:00Z"),
        contact("c3", started_at="2027-01-01T00:00:00Z"),
    )
    batch = import_text("interactions", text, tmp_path, on_error="skip")
    assert problems(batch) == [
        (2, "started_at", "2026-11-20T12:06:00Z", "a time that is not in the future"),
        (3, "started_at", "2027-01-01T00:00:00Z", "a time that is not in the future"),
    ]
    assert list(Interaction.objects.values_list("external_id", flat=True)) == ["c1"]


def test_an_answered_contact_needs_an_agent_and_an_unanswered_one_does_not(
    world: World, tmp_path: Path
) -> None:
    text = contacts(
        contact("c1", agent="", answered="true"),
        contact("c2", agent="", answered="false", talk_s=""),
        contact("c3", agent="A1", answered=""),
    )
    batch = import_text("interactions", text, tmp_path, on_error="skip")
    assert problems(batch) == [
        (1, "agent", "", "the agent who answered (an answered contact needs one)")
    ]
    stored = dict(Interaction.objects.values_list("external_id", "answered"))
    # An empty `answered` with an agent counts as answered.
    assert stored == {"c2": False, "c3": True}
    assert Interaction.objects.get(external_id="c2").agent is None


def test_an_unknown_agent_is_a_row_error(world: World, tmp_path: Path) -> None:
    batch = import_text("interactions", contacts(contact("c1", agent="Z9")), tmp_path)
    assert problems(batch) == [
        (
            1,
            "agent",
            "Z9",
            "a person in the roster (import the roster first, or use --create-missing-agents)",
        )
    ]
    assert not Person.objects.filter(external_id="Z9").exists()


def test_an_id_used_twice_in_one_file_is_an_error_on_the_later_row(
    world: World, tmp_path: Path
) -> None:
    text = contacts(contact("c1"), contact("c2"), contact("c1", talk_s="20"))
    batch = import_text("interactions", text, tmp_path, on_error="skip")
    assert problems(batch) == [
        (3, "external_id", "c1", "an id used once in the file (row 1 has it too)")
    ]
    assert Interaction.objects.get(external_id="c1").talk_s == 300.0
    assert counts(batch) == {"read": 3, "new": 2, "updated": 0, "unchanged": 0, "rejected": 1}


def test_missing_required_columns_reject_the_file_before_any_row_is_read(
    world: World, tmp_path: Path
) -> None:
    text = table(["external_id", "channel", "talk_s"], [{"external_id": "c1", "channel": "voice"}])
    batch = import_text("interactions", text, tmp_path)
    assert batch.status == BatchStatus.REJECTED
    assert batch.error == (
        "Missing required columns: program, agent, started_at. "
        "The file has: external_id, channel, talk_s"
    )
    assert batch.rows_read == 0
    assert Interaction.objects.count() == 0


def test_a_mapped_column_absent_from_the_file_is_a_missing_column(
    world: World, tmp_path: Path
) -> None:
    text = contacts(contact("c1"))
    batch = import_text("interactions", text, tmp_path, mapping='[columns]\ncsat = "Rating"\n')
    assert batch.status == BatchStatus.REJECTED
    assert batch.error.startswith("Missing required columns: Rating. The file has: external_id,")


def test_a_row_with_the_wrong_number_of_fields_is_reported_and_the_rest_go_on(
    world: World, tmp_path: Path
) -> None:
    text = "external_id;program;channel;agent;started_at\n"
    text += "c1;care;voice;A1;2026-06-01T09:00:00Z\n"
    text += "c2;care;voice,A1;2026-06-01T09:05:00Z\n"  # a comma where a semicolon belongs
    text += "c3;care;voice;A1;2026-06-01T09:10:00Z\n"
    batch = import_text("interactions", text, tmp_path, on_error="skip")
    assert problems(batch) == [
        (
            2,
            "(row)",
            "c2;care;voice,A1;2026-06-01T09:05:00Z",
            "5 fields separated by semicolons, found 4",
        )
    ]
    assert sorted(Interaction.objects.values_list("external_id", flat=True)) == ["c1", "c3"]


def test_a_program_manager_imports_only_for_their_programs(world: World, tmp_path: Path) -> None:
    text = contacts(
        contact("c1"),
        contact("c2", program="chat", agent="C1", channel="chat"),
        contact("c3", program="nowhere"),
    )
    batch = import_text(
        "interactions", text, tmp_path, by=world.user(world.manager), on_error="skip"
    )
    assert problems(batch) == [
        (2, "program", "chat", "a program you may import for: care"),
        (3, "program", "nowhere", "an existing program code (care, chat)"),
    ]
    assert list(Interaction.objects.values_list("external_id", flat=True)) == ["c1"]
    assert batch.created_by == world.user(world.manager)


@pytest.mark.parametrize("persona", ["lead", "agent", "qa"])
def test_only_org_admins_and_program_managers_may_import(
    world: World, tmp_path: Path, persona: str
) -> None:
    path = write(tmp_path, "i.csv", contacts(contact("c1")))
    with pytest.raises(NotAllowed):
        import_create(
            kind="interactions",
            path=path,
            file_name="i.csv",
            by=world.user(getattr(world, persona)),
        )
    assert ImportBatch.objects.count() == 0
    assert Interaction.objects.count() == 0


def test_the_command_prints_each_error_as_row_column_value_expected(
    world: World, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "i.csv",
        contacts(contact("c1", csat="9"), contact("c2", talk_s="-5"), contact("c3")),
    )
    code, out = cli("interactions", str(path))
    assert code == 1
    lines = out.splitlines()
    assert "row 1, column csat: '9' — expected an integer from 1 to 5 (the 1-5 scale)" in lines
    assert "row 2, column talk_s: '-5' — expected a duration from 0 to 86,400 seconds" in lines
    assert "  rejected            2" in lines
    assert any(line.startswith("error file: ") for line in lines)
    assert Interaction.objects.count() == 0


def test_the_command_exits_0_and_prints_a_summary_when_all_is_well(
    world: World, tmp_path: Path
) -> None:
    path = write(tmp_path, "i.csv", contacts(contact("c1"), contact("c2")))
    code, out = cli("interactions", str(path))
    assert code == 0
    batch = ImportBatch.objects.get()
    assert out.splitlines()[:7] == [
        f"import #{batch.pk} interactions i.csv: succeeded",
        "  read                2",
        "  written             2  (new)",
        "  updated             0",
        "  unchanged           0",
        "  rejected            0",
        "  warnings            0",
    ]
    assert ImportProblem.objects.count() == 0


def test_a_header_that_names_a_column_twice_rejects_the_file(world: World, tmp_path: Path) -> None:
    text = "external_id,channel,program,agent,started_at,agent\nc1,voice,care,A1,2026-06-01,A2\n"
    batch = import_text("interactions", text, tmp_path)
    assert batch.status == BatchStatus.REJECTED
    assert batch.error == (
        "The header names a column more than once: agent. Rename them so that each column has "
        "its own name."
    )


def test_nps_is_a_whole_number_from_0_to_10(world: World, tmp_path: Path) -> None:
    text = contacts(contact("c1", nps="7.0"), contact("c2", nps="7.5"), contact("c3", nps="0"))
    batch = import_text("interactions", text, tmp_path, on_error="skip")
    assert problems(batch) == [(2, "nps", "7.5", "an integer 0-10")]
    assert dict(Interaction.objects.values_list("external_id", "nps")) == {"c1": 7, "c3": 0}


def test_an_import_without_errors_leaves_no_error_file(world: World, tmp_path: Path) -> None:
    batch = import_text("interactions", contacts(contact("c1")), tmp_path)
    assert batch.errors_path == ""
    assert not (tmp_path / "imports" / str(batch.pk) / "errors.csv").exists()


def test_the_command_takes_every_option_and_exits_1_when_rows_were_skipped(
    world: World, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "calls.dat",
        contacts(contact("c1", agent="acd-A1"), contact("c2", csat="x")).replace(",", "|"),
    )
    errors = tmp_path / "errors" / "calls.csv"
    code, out = cli(
        "interactions",
        str(path),
        "--format",
        "csv",
        "--delimiter",
        "|",
        "--encoding",
        "utf-8",
        "--source",
        "acd",
        "--on-error",
        "skip",
        "--error-file",
        str(errors),
    )
    assert code == 1
    assert f"error file: {errors}" in out.splitlines()
    assert (
        errors.read_text(encoding="utf-8")
        .splitlines()[1]
        .endswith(",2,csat,x,an integer from 1 to 5 (the 1-5 scale)")
    )
    assert list(Interaction.objects.values_list("external_id", "source", "agent")) == [
        ("c1", "acd", world.agent.pk)
    ]


def test_a_file_with_only_a_header_imports_nothing_and_succeeds(
    world: World, tmp_path: Path
) -> None:
    batch = import_text("interactions", contacts(), tmp_path)
    assert batch.status == BatchStatus.SUCCEEDED
    assert counts(batch) == {"read": 0, "new": 0, "updated": 0, "unchanged": 0, "rejected": 0}


def test_an_empty_file_is_rejected(world: World, tmp_path: Path) -> None:
    batch = import_text("interactions", "", tmp_path)
    assert (batch.status, batch.error) == (BatchStatus.REJECTED, "file.csv has no header row")
