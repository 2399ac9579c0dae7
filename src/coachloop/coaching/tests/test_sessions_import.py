"""Coaching history comes in by import (``coachloop import sessions FILE``): each row checked and
named when bad, all-or-nothing or skipped, idempotent on (program, source, session_id), and kept
with the agent's program and the team they were on that day."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from coachloop.coaching.models import CoachingSession, SessionType
from coachloop.core.personas import World
from coachloop.ingest.fields import SESSION_TYPES, canonical_header
from coachloop.ingest.models import BatchStatus, ImportBatch
from coachloop.ingest.tests.helpers import (
    counts,
    error_file_rows,
    import_text,
    problems,
    table,
    write,
)
from coachloop.learning.models import Skill, SkillKind
from coachloop.org import services as org
from coachloop.org.models import Person

pytestmark = pytest.mark.django_db

COLUMNS = list(canonical_header("sessions"))
WHEN = "2026-11-02T10:00:00+00:00"


@pytest.fixture(autouse=True)
def skills(db: None) -> list[Skill]:
    return [
        Skill.objects.create(key="empathy", name="Empathy", kind=SkillKind.BEHAVIOUR),
        Skill.objects.create(
            key="billing-knowledge",
            name="Billing knowledge",
            kind=SkillKind.KNOWLEDGE,
            call_type="billing",
        ),
    ]


def session(session_id: str, agent: str = "A1", **fields: str) -> dict[str, str]:
    return {
        "session_id": session_id,
        "agent": agent,
        "lead": "L1",
        "started_at": WHEN,
        "type": "one_to_one",
        "focus_skill": "empathy",
        "focus_metric": "csat",
        "notes": "Listened to two calls together.",
        **fields,
    }


def sessions_csv(*rows: dict[str, str]) -> str:
    return table(COLUMNS, list(rows))


def import_sessions(text: str, folder: Path, **options: Any) -> ImportBatch:
    return import_text("sessions", text, folder, name="sessions.csv", **options)


def cli(*args: str) -> tuple[int, str]:
    """Run ``coachloop import ...``; returns the exit code and what it printed."""
    out = io.StringIO()
    try:
        call_command("import", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def stored() -> list[tuple[Any, ...]]:
    return list(
        CoachingSession.objects.order_by("external_id").values_list(
            "external_id",
            "program__code",
            "agent__external_id",
            "lead__external_id",
            "team__code",
            "local_date",
            "type",
            "focus_skill__key",
            "focus_metric",
        )
    )


# --- the happy path ----------------------------------------------------------------------------


def test_a_sessions_file_is_imported_by_the_command(world: World, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sessions.csv",
        sessions_csv(
            session("S1"),
            session(
                "S2",
                agent="C1",
                lead="L3",
                type="Side_By_Side",
                focus_skill="",
                focus_metric="fcr",
                notes="",
            ),
        ),
    )
    code, printed = cli("sessions", str(path))
    assert code == 0, printed
    assert "written             2  (new)" in printed
    assert stored() == [
        ("S1", "care", "A1", "L1", "care-a", dt.date(2026, 11, 2), "one_to_one", "empathy", "csat"),
        ("S2", "chat", "C1", "L3", "chat-a", dt.date(2026, 11, 2), "side_by_side", None, "fcr"),
    ]
    first = CoachingSession.objects.get(external_id="S1")
    assert first.started_at == dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
    assert first.notes == "Listened to two calls together."
    assert first.source == "canonical"
    batch = ImportBatch.objects.get()
    assert first.batch_id == batch.pk
    assert sorted(batch.programs.values_list("code", flat=True)) == ["care", "chat"]


def test_the_same_file_again_changes_nothing(world: World, tmp_path: Path) -> None:
    text = sessions_csv(session("S1"), session("S2", agent="A2"))
    first = import_sessions(text, tmp_path)
    before = list(CoachingSession.objects.order_by("pk").values_list("pk", "updated_at", "batch"))
    again = import_sessions(text, tmp_path)
    assert again.status == BatchStatus.SUCCEEDED
    assert counts(again) == {"read": 2, "new": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    after = list(CoachingSession.objects.order_by("pk").values_list("pk", "updated_at", "batch"))
    assert after == before
    assert {batch for _, _, batch in after} == {first.pk}


def test_a_changed_row_is_updated_and_the_others_stay_as_they_were(
    world: World, tmp_path: Path
) -> None:
    first = import_sessions(sessions_csv(session("S1"), session("S2", agent="A2")), tmp_path)
    changed = import_sessions(
        sessions_csv(
            session("S1", focus_skill="billing-knowledge", notes="Went through the bill."),
            session("S2", agent="A2"),
        ),
        tmp_path,
    )
    assert counts(changed) == {"read": 2, "new": 0, "updated": 1, "unchanged": 1, "rejected": 0}
    assert CoachingSession.objects.count() == 2
    one = CoachingSession.objects.get(external_id="S1")
    assert (one.focus_skill.key if one.focus_skill else None) == "billing-knowledge"
    assert (one.notes, one.batch_id) == ("Went through the bill.", changed.pk)
    assert CoachingSession.objects.get(external_id="S2").batch_id == first.pk


def test_another_source_with_the_same_ids_makes_other_sessions(
    world: World, tmp_path: Path
) -> None:
    """The natural key is (program, source, session_id); the agent is known by their ACD id."""
    import_sessions(sessions_csv(session("S1")), tmp_path)
    other = import_sessions(sessions_csv(session("S1", agent="acd-A1")), tmp_path, source="acd")
    assert counts(other)["new"] == 1
    assert sorted(CoachingSession.objects.values_list("source", "agent__external_id")) == [
        ("acd", "A1"),
        ("canonical", "A1"),
    ]


# --- bad rows ----------------------------------------------------------------------------------


def test_each_bad_row_is_named_with_its_column_and_what_was_expected(
    world: World, tmp_path: Path
) -> None:
    batch = import_sessions(
        sessions_csv(
            session("S1"),
            session("S2", agent="ZZ9"),
            session("S3", lead="QQ7"),
            session("S4", focus_skill="juggling"),
            session("S5", focus_metric="happiness"),
            session("S6", started_at="last tuesday"),
            session("S7", type="coffee"),
            session("S8", lead="A1"),
            session("", agent="A2"),
            session("S10", started_at="2026-12-25T09:00:00+00:00"),
            session("S1", agent="A2"),
        ),
        tmp_path,
    )
    assert batch.status == BatchStatus.REJECTED
    metrics = (
        "aht, fcr, csat, csat_mean, nps, transfer_rate, escalation_rate, acw, hold, qa_score, "
        "adherence, attendance and 5 more"
    )
    skills = "billing-knowledge, empathy"
    once = "a session id used once per program in the file (row 1 has it too)"
    assert problems(batch) == [
        (2, "agent", "ZZ9", "a person in the roster (import the roster first)"),
        (3, "lead", "QQ7", "a person in the roster (import the roster first)"),
        (4, "focus_skill", "juggling", f"the key of a skill in the catalog ({skills})"),
        (5, "focus_metric", "happiness", f"a metric of program care ({metrics})"),
        (6, "started_at", "last tuesday", "a timestamp such as 2026-03-02T09:14:05+00:00"),
        (7, "type", "coffee", "one of one_to_one, side_by_side, huddle"),
        (8, "lead", "A1", "a coach other than the agent"),
        (9, "session_id", "", "the session's id"),
        (10, "started_at", "2026-12-25T09:00:00+00:00", "a time that is not in the future"),
        (11, "session_id", "S1", once),
    ]
    assert counts(batch) == {"read": 11, "new": 0, "updated": 0, "unchanged": 0, "rejected": 10}
    assert not CoachingSession.objects.exists()


def test_a_rejected_file_writes_nothing_and_its_bad_rows_go_to_the_error_file(
    world: World, tmp_path: Path
) -> None:
    batch = import_sessions(
        sessions_csv(session("S1"), session("S2", agent="ZZ9"), session("S3", agent="A2")),
        tmp_path,
    )
    assert batch.status == BatchStatus.REJECTED
    assert not CoachingSession.objects.exists()
    rows = error_file_rows(batch)
    assert [(r["_row"], r["_column"], r["_value"], r["session_id"]) for r in rows] == [
        ("2", "agent", "ZZ9", "S2")
    ]


def test_skip_writes_the_good_rows_and_exits_1(world: World, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sessions.csv",
        sessions_csv(session("S1"), session("S2", focus_metric="happiness"), session("S3")),
    )
    code, printed = cli("sessions", str(path), "--on-error", "skip")
    assert code == 1
    assert "row 2, column focus_metric: 'happiness'" in printed
    assert sorted(CoachingSession.objects.values_list("external_id", flat=True)) == ["S1", "S3"]
    assert counts(ImportBatch.objects.get())["rejected"] == 1


def test_a_dry_run_counts_and_writes_nothing(world: World, tmp_path: Path) -> None:
    batch = import_sessions(sessions_csv(session("S1"), session("S2")), tmp_path, dry_run=True)
    assert (batch.status, batch.rows_inserted) == (BatchStatus.SUCCEEDED, 2)
    assert not CoachingSession.objects.exists()


def test_create_missing_agents_is_refused_for_sessions(world: World, tmp_path: Path) -> None:
    path = write(tmp_path, "sessions.csv", sessions_csv(session("S1", agent="NEW1")))
    with pytest.raises(CommandError, match="--create-missing-agents is not for sessions"):
        cli("sessions", str(path), "--create-missing-agents")
    assert not ImportBatch.objects.exists()
    assert not Person.objects.filter(external_id="NEW1").exists()


def test_a_manager_imports_sessions_of_their_own_programs_only(
    world: World, tmp_path: Path
) -> None:
    batch = import_sessions(
        sessions_csv(session("S1"), session("S2", agent="C1", lead="L3")),
        tmp_path,
        by=world.user(world.manager),
        on_error="skip",
    )
    assert problems(batch) == [(2, "agent", "C1", "an agent of a program you may import for")]
    assert stored()[0][:3] == ("S1", "care", "A1")
    assert CoachingSession.objects.count() == 1


# --- time, program and team at the time --------------------------------------------------------


def test_naive_times_are_the_agents_programs_local_time(world: World, tmp_path: Path) -> None:
    """A chat agent's 22:30 is New York time: 02:30 UTC the next day, on the local day."""
    import_sessions(
        sessions_csv(
            session("S1", agent="C1", lead="L3", started_at="2026-06-01 22:30"),
            session("S2", started_at="2026-06-01T23:30:00+00:00"),
        ),
        tmp_path,
    )
    chat = CoachingSession.objects.get(external_id="S1")
    assert chat.started_at == dt.datetime(2026, 6, 2, 2, 30, tzinfo=dt.UTC)
    assert chat.local_date == dt.date(2026, 6, 1)
    # 23:30 UTC in June is 00:30 the next day in London.
    assert CoachingSession.objects.get(external_id="S2").local_date == dt.date(2026, 6, 2)


def test_a_session_is_kept_with_the_team_the_agent_was_on_that_day(
    world: World, tmp_path: Path
) -> None:
    org.membership_move(person=world.agent, team=world.care_b, on=dt.date(2026, 9, 1), by=None)
    import_sessions(
        sessions_csv(
            session("S1", started_at="2026-08-31T22:59:00+00:00"),  # 23:59 in London
            session("S2", started_at="2026-08-31T23:00:00+00:00"),  # the move's first minute
        ),
        tmp_path,
    )
    assert [(row[0], row[4], row[5]) for row in stored()] == [
        ("S1", "care-a", dt.date(2026, 8, 31)),
        ("S2", "care-b", dt.date(2026, 9, 1)),
    ]


def test_a_session_before_a_move_to_another_program_stays_in_the_old_program(
    world: World, tmp_path: Path
) -> None:
    """The program is a hard boundary: the chat lead must not see A2's care sessions."""
    org.membership_move(person=world.agent2, team=world.chat_a, on=dt.date(2026, 10, 1), by=None)
    import_sessions(
        sessions_csv(
            session("S1", agent="A2", started_at="2026-09-30 12:00"),
            session("S2", agent="A2", lead="L3", started_at="2026-10-02 12:00"),
        ),
        tmp_path,
    )
    assert [(row[0], row[1], row[4]) for row in stored()] == [
        ("S1", "care", "care-a"),
        ("S2", "chat", "chat-a"),
    ]
    # Each naive time was read in its own program's zone.
    times = dict(CoachingSession.objects.values_list("external_id", "started_at"))
    assert times["S1"] == dt.datetime(2026, 9, 30, 11, 0, tzinfo=dt.UTC)  # London, BST
    assert times["S2"] == dt.datetime(2026, 10, 2, 16, 0, tzinfo=dt.UTC)  # New York, EDT


def test_a_session_before_the_agent_joined_any_team_has_no_team(
    world: World, tmp_path: Path
) -> None:
    import_sessions(sessions_csv(session("S1", started_at="2026-01-05T10:00:00+00:00")), tmp_path)
    assert stored()[0][1:5] == ("care", "A1", "L1", None)


def test_a_person_who_is_no_agent_cannot_be_coached(world: World, tmp_path: Path) -> None:
    batch = import_sessions(sessions_csv(session("S1", agent="Q1")), tmp_path)
    assert problems(batch) == [
        (1, "agent", "Q1", "an agent of a program (this person has no agent role)")
    ]


def test_a_mapping_renames_columns_and_sets_the_type(world: World, tmp_path: Path) -> None:
    text = "Id;Employee;Coach;Date;Time;Topic\nX-1;A1;L1;02/11/2026;10:00;empathy\n"
    mapping = """
[source]
name = "lms"
delimiter = ";"
[constants]
type = "one_to_one"
[columns]
session_id = "Id"
agent = "Employee"
lead = "Coach"
started_at = { date = "Date", time = "Time", format = "%d/%m/%Y %H:%M" }
focus_skill = "Topic"
"""
    batch = import_sessions(text, tmp_path, mapping=mapping)
    assert batch.status == BatchStatus.SUCCEEDED, problems(batch)
    one = CoachingSession.objects.get()
    assert (one.source, one.external_id, one.type) == ("lms", "X-1", SessionType.ONE_TO_ONE)
    assert one.started_at == dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)  # GMT in November


def test_the_import_knows_the_same_session_types_as_the_model() -> None:
    assert tuple(SessionType.values) == SESSION_TYPES


# --- the simulator's file ----------------------------------------------------------------------


def test_the_simulators_sessions_import_without_a_single_rejected_row(
    db: None, tmp_path: Path
) -> None:
    from coachloop.simulator.services import simulate

    out = tmp_path / "sim"
    simulate(
        out=out,
        agents=15,
        days=45,
        start=None,
        seed=3,
        coaching_effect=0.5,
        program_problem=True,
    )
    # The focus skills come into the catalog with the scorecard.
    for kind, name in (
        ("roster", "roster.csv"),
        ("scorecard", "scorecard.json"),
        ("sessions", "sessions.csv"),
    ):
        code, printed = cli(kind, str(out / name))
        assert code == 0, printed
    with (out / "sessions.csv").open(encoding="utf-8", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert CoachingSession.objects.count() == len(lines) > 0
    assert ImportBatch.objects.get(kind="sessions").rows_rejected == 0
    assert set(CoachingSession.objects.values_list("external_id", flat=True)) == {
        line["session_id"] for line in lines
    }
