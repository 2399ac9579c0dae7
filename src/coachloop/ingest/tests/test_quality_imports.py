"""QA data made elsewhere comes in by import: scorecards (one JSON document), transcripts (JSON
Lines) and evaluations (one row per answer), checked row by row, all-or-nothing, idempotent, and
scored by the same function as evaluations made in the app."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from coachloop.core.errors import InvalidInput
from coachloop.core.personas import World
from coachloop.ingest.fields import canonical_header
from coachloop.ingest.models import BatchStatus, ImportBatch
from coachloop.ingest.services import import_create
from coachloop.ingest.tests.helpers import (
    counts,
    error_file_rows,
    import_path,
    import_text,
    problems,
    table,
    write,
)
from coachloop.interactions.models import Interaction, RecomputeMark, Transcript
from coachloop.metrics import selectors as kpi_selectors
from coachloop.metrics.kpis import Kpi
from coachloop.quality import scoring, selectors, services
from coachloop.quality.models import (
    Answer,
    Calibration,
    Comment,
    Evaluation,
    EvaluationStatus,
    Scorecard,
)
from coachloop.quality.tests.factories import (
    DAY,
    handled_contact,
    small_document,
    small_scorecard,
)

pytestmark = pytest.mark.django_db

EVALUATION_COLUMNS = list(canonical_header("evaluations"))
GOOD = {"greets": "yes", "verifies": "yes", "empathy": "4", "accuracy": "2"}
# 100 x (1 x 1 + 2 x 1 + 2 x 0.75 + 4 x 0.5) / (1 + 2 + 2 + 4)
GOOD_SCORE = 100 * 6.5 / 9
WHEN = "2026-11-12T10:00:00+00:00"


def cli(*args: str) -> tuple[int, str]:
    """Run ``coachloop import ...``; returns the exit code and what it printed."""
    out = io.StringIO()
    try:
        call_command("import", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def evaluation(
    evaluation_id: str,
    contact: Interaction | str,
    answers: dict[str, str] | None = None,
    **fields: str,
) -> list[dict[str, str]]:
    """The rows of one evaluation of the small scorecard, one per answer."""
    external_id = contact if isinstance(contact, str) else contact.external_id
    comments = json.loads(fields.pop("comments", "{}"))
    common = {
        "evaluation_id": evaluation_id,
        "interaction_external_id": external_id,
        "program": "care",
        "scorecard": "small",
        "scorecard_version": "1",
        "evaluator": "Q1",
        "evaluated_at": WHEN,
        **fields,
    }
    return [
        {**common, "criterion": key, "answer": value, "comment": comments.get(key, "")}
        for key, value in (answers or GOOD).items()
    ]


def evaluations_csv(*evaluations: list[dict[str, str]]) -> str:
    return table(EVALUATION_COLUMNS, [row for rows in evaluations for row in rows])


def import_evaluations(text: str, folder: Path, **options: Any) -> ImportBatch:
    return import_text("evaluations", text, folder, name="evaluations.csv", **options)


def transcript_line(contact: Interaction | str, turns: Any, program: str = "care") -> str:
    external_id = contact if isinstance(contact, str) else contact.external_id
    return json.dumps({"external_id": external_id, "program": program, "turns": turns})


def import_transcripts(lines: list[str], folder: Path, **options: Any) -> ImportBatch:
    text = "\n".join(lines) + "\n"
    return import_text("transcripts", text, folder, name="transcripts.jsonl", **options)


TURNS = [
    {"speaker": "agent", "offset_s": 0, "text": "Thanks for calling, this is Alice."},
    {"speaker": "customer", "offset_s": 3.5, "text": "My bill doubled."},
]


def qa_score_of(world: World) -> Kpi:
    report = kpi_selectors.kpi_report(
        subject=kpi_selectors.subject_for_agent(world.agent, world.care),
        start=DAY,
        end=DAY,
        definitions=kpi_selectors.definitions_for(world.care, ["qa_score"]),
    )
    return report.metrics[0]


# --- scorecards --------------------------------------------------------------------------------


def test_a_scorecard_file_is_stored_once_then_reimported_unchanged(
    world: World, tmp_path: Path
) -> None:
    path = write(tmp_path, "small.json", json.dumps(small_document()))
    code, printed = cli("scorecard", str(path))
    assert code == 0, printed
    assert "written             1  (new)" in printed
    stored = Scorecard.objects.get(key="small", version=1)
    assert [c.key for c in selectors.scorecard_criteria(stored)] == list(GOOD)
    code, printed = cli("scorecard", str(path))
    assert code == 0
    assert "unchanged           1" in printed
    assert Scorecard.objects.count() == 1


def test_a_scorecard_with_problems_is_rejected_naming_each_json_path(
    world: World, tmp_path: Path
) -> None:
    document = small_document()
    document["sections"][0]["criteria"][1]["type"] = "maybe"
    document["critical_scope"] = "team"
    batch = import_path("scorecard", write(tmp_path, "bad.json", json.dumps(document)))
    assert batch.status == BatchStatus.REJECTED
    assert sorted(problems(batch)) == [
        (1, "critical_scope", "team", "evaluation or section"),
        (1, "sections[0].criteria[1].type", "maybe", "yes_no, scale_1_5 or points"),
    ]
    assert counts(batch) == {"read": 1, "new": 0, "updated": 0, "unchanged": 0, "rejected": 1}
    assert [row["_column"] for row in error_file_rows(batch)] == [
        "critical_scope",
        "sections[0].criteria[1].type",
    ]
    assert not Scorecard.objects.exists()


def test_a_changed_scorecard_under_the_same_version_is_refused(
    world: World, tmp_path: Path
) -> None:
    small_scorecard()
    document = small_document()
    document["sections"][0]["criteria"][0]["weight"] = 3
    batch = import_path("scorecard", write(tmp_path, "changed.json", json.dumps(document)))
    assert batch.status == BatchStatus.REJECTED
    assert problems(batch) == [(1, "version", "1", "a version not used yet for this key")]
    assert Scorecard.objects.get().criteria.get(key="greets").weight == 1


def test_a_file_that_is_not_json_fails_as_a_whole(world: World, tmp_path: Path) -> None:
    batch = import_path("scorecard", write(tmp_path, "broken.json", '{"key": "small",'))
    assert batch.status == BatchStatus.REJECTED
    assert batch.error.startswith("broken.json is not valid JSON")
    assert not Scorecard.objects.exists()


def test_a_scorecard_dry_run_checks_and_writes_nothing(world: World, tmp_path: Path) -> None:
    path = write(tmp_path, "small.json", json.dumps(small_document()))
    batch = import_path("scorecard", path, dry_run=True)
    assert (batch.status, batch.rows_inserted) == (BatchStatus.SUCCEEDED, 1)
    assert not Scorecard.objects.exists()


def test_a_program_manager_imports_scorecards_of_their_own_programs_only(
    world: World, tmp_path: Path
) -> None:
    manager = world.user(world.manager)
    for_chat = write(tmp_path, "chat.json", json.dumps({**small_document(), "programs": ["chat"]}))
    refused = import_path("scorecard", for_chat, by=manager)
    assert refused.status == BatchStatus.REJECTED
    assert problems(refused)[0][:3] == (1, "programs", '["chat"]')
    assert not Scorecard.objects.exists()
    for_care = write(tmp_path, "care.json", json.dumps({**small_document(), "programs": ["care"]}))
    accepted = import_path("scorecard", for_care, by=manager)
    assert accepted.status == BatchStatus.SUCCEEDED
    assert list(Scorecard.objects.get().programs.values_list("code", flat=True)) == ["care"]


def test_each_kind_reads_only_its_own_format(world: World, tmp_path: Path) -> None:
    csv_file = write(tmp_path, "scorecard.csv", "key\nsmall\n")
    with pytest.raises(InvalidInput, match="reads one JSON document"):
        import_create(kind="scorecard", path=csv_file, file_name=csv_file.name, by=None)
    json_file = write(tmp_path, "evaluations.json", "{}")
    with pytest.raises(InvalidInput, match="reads csv, xlsx or jsonl, not json"):
        import_create(kind="evaluations", path=json_file, file_name=json_file.name, by=None)
    with pytest.raises(InvalidInput, match="reads JSON Lines"):
        import_create(kind="transcripts", path=csv_file, file_name=csv_file.name, by=None)
    with pytest.raises(InvalidInput, match="--create-missing-agents is not for evaluations"):
        import_create(
            kind="evaluations",
            path=json_file,
            file_name="evaluations.csv",
            by=None,
            create_missing_agents=True,
        )
    with pytest.raises(InvalidInput, match="takes no mapping"):
        import_create(
            kind="scorecard",
            path=json_file,
            file_name=json_file.name,
            by=None,
            mapping_text='[source]\nname = "x"\n',
        )
    assert not ImportBatch.objects.exists()


# --- transcripts -------------------------------------------------------------------------------


def test_transcripts_are_stored_on_their_contacts_and_reimported_unchanged(
    world: World, tmp_path: Path
) -> None:
    first = handled_contact(world, transcript=False)
    second = handled_contact(world, transcript=False)
    lines = [transcript_line(first, TURNS), transcript_line(second, TURNS[:1])]
    batch = import_transcripts(lines, tmp_path)
    assert problems(batch) == []
    assert counts(batch) == {"read": 2, "new": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert Transcript.objects.get(interaction=first).turns == [
        {"speaker": "agent", "offset_s": 0.0, "text": "Thanks for calling, this is Alice."},
        {"speaker": "customer", "offset_s": 3.5, "text": "My bill doubled."},
    ]
    assert list(batch.programs.values_list("code", flat=True)) == ["care"]
    again = import_transcripts(lines, tmp_path)
    assert counts(again) == {"read": 2, "new": 0, "updated": 0, "unchanged": 2, "rejected": 0}


def test_a_reimported_transcript_with_other_turns_replaces_the_old_one(
    world: World, tmp_path: Path
) -> None:
    contact = handled_contact(world, transcript=False)
    import_transcripts([transcript_line(contact, TURNS)], tmp_path)
    corrected = [{"speaker": "System", "offset_s": 0, "text": "Call connected"}]
    batch = import_transcripts([transcript_line(contact, corrected)], tmp_path)
    assert counts(batch)["updated"] == 1
    assert Transcript.objects.get(interaction=contact).turns == [
        {"speaker": "system", "offset_s": 0.0, "text": "Call connected"}
    ]


def test_a_contact_from_another_source_is_found_when_only_it_has_that_id(
    world: World, tmp_path: Path
) -> None:
    contact = handled_contact(world, transcript=False)
    Interaction.objects.filter(pk=contact.pk).update(source="acd")
    batch = import_transcripts([transcript_line(contact, TURNS)], tmp_path)
    assert problems(batch) == []
    assert Transcript.objects.get().interaction_id == contact.pk


def test_bad_transcript_lines_are_named_and_reject_the_file(world: World, tmp_path: Path) -> None:
    contact = handled_contact(world, transcript=False)
    lines = [
        transcript_line(contact, TURNS),
        transcript_line("nobody-has-this", TURNS),
        transcript_line(contact, TURNS, program="moon"),
        transcript_line(contact, [{"speaker": "robot", "offset_s": 1, "text": "hi"}]),
        transcript_line(contact, [{"speaker": "agent", "offset_s": -2, "text": "hi"}]),
        transcript_line(contact, [{"speaker": "agent", "offset_s": "3", "text": 42}]),
        transcript_line(contact, "hello"),
    ]
    batch = import_transcripts(lines, tmp_path)
    assert batch.status == BatchStatus.REJECTED
    assert sorted(problems(batch)) == [
        (
            2,
            "external_id",
            "nobody-has-this",
            "a contact of program care (import the interactions first)",
        ),
        (3, "program", "moon", "an existing program code (care, chat)"),
        (4, "turns[0].speaker", "robot", "agent, customer or system"),
        (5, "turns[0].offset_s", "-2", "seconds from the start: a number, 0 or more"),
        (6, "turns[0].offset_s", '"3"', "seconds from the start: a number, 0 or more"),
        (6, "turns[0].text", "42", "the words said, as a string"),
        (7, "turns", "hello", "a list of turns: [{speaker, offset_s, text}, ...]"),
    ]
    assert counts(batch)["rejected"] == 6
    assert not Transcript.objects.exists()


def test_with_skip_the_good_transcripts_are_written(world: World, tmp_path: Path) -> None:
    contact = handled_contact(world, transcript=False)
    lines = [transcript_line("nobody-has-this", TURNS), transcript_line(contact, TURNS)]
    batch = import_transcripts(lines, tmp_path, on_error="skip")
    assert counts(batch) == {"read": 2, "new": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    assert Transcript.objects.get().interaction_id == contact.pk


def test_one_contact_twice_in_a_transcripts_file_is_an_error(world: World, tmp_path: Path) -> None:
    contact = handled_contact(world, transcript=False)
    lines = [transcript_line(contact, TURNS), transcript_line(contact, TURNS[:1])]
    batch = import_transcripts(lines, tmp_path)
    assert problems(batch) == [
        (
            2,
            "external_id",
            contact.external_id,
            "one transcript per contact (row 1 has this contact too)",
        )
    ]
    assert not Transcript.objects.exists()


# --- evaluations -------------------------------------------------------------------------------


def test_an_imported_evaluation_is_submitted_and_scored_like_one_made_in_the_app(
    world: World, tmp_path: Path
) -> None:
    scorecard = small_scorecard()
    contact = handled_contact(world)
    comments = json.dumps({"empathy": "Sounded rushed"})
    path = write(
        tmp_path, "qa.csv", evaluations_csv(evaluation("EV-1", contact, comments=comments))
    )
    code, printed = cli("evaluations", str(path))
    assert code == 0, printed
    imported = Evaluation.objects.get()
    assert (imported.status, imported.source, imported.external_id) == (
        EvaluationStatus.SUBMITTED,
        "canonical",
        "EV-1",
    )
    assert (imported.agent, imported.team, imported.local_date) == (world.agent, world.care_a, DAY)
    assert imported.evaluator == world.qa
    assert imported.submitted_at == dt.datetime(2026, 11, 12, 10, 0, tzinfo=dt.UTC)
    assert imported.score == pytest.approx(GOOD_SCORE)
    assert (
        imported.score
        == scoring.score(
            selectors.scorecard_rules(selectors.scorecard_criteria(scorecard)),
            GOOD,
            scorecard.critical_scope,
        ).score
    )
    in_app = services.evaluation_submit(
        evaluation=services.evaluation_start(
            interaction=handled_contact(world), by=world.user(world.qa), scorecard=scorecard
        ),
        by=world.user(world.qa),
        answers=GOOD,
    )
    assert imported.score == in_app.score
    assert dict(imported.answers.values_list("criterion__key", "value")) == GOOD
    assert list(imported.comments.values_list("criterion__key", "text", "author")) == [
        ("empathy", "Sounded rushed", world.user(world.qa).pk)
    ]


def test_a_critical_failure_scores_the_imported_evaluation_zero(
    world: World, tmp_path: Path
) -> None:
    small_scorecard()
    answers = {**GOOD, "verifies": "no"}
    import_evaluations(
        evaluations_csv(evaluation("EV-1", handled_contact(world), answers)), tmp_path
    )
    imported = Evaluation.objects.get()
    assert (imported.score, imported.critical_failed) == (0.0, True)


@pytest.mark.usefixtures("marks_kept")
def test_reimporting_the_same_evaluations_changes_nothing(world: World, tmp_path: Path) -> None:
    small_scorecard()
    text = evaluations_csv(
        evaluation("EV-1", handled_contact(world)), evaluation("EV-2", handled_contact(world))
    )
    first = import_evaluations(text, tmp_path)
    assert counts(first) == {"read": 8, "new": 8, "updated": 0, "unchanged": 0, "rejected": 0}
    assert list(RecomputeMark.objects.values_list("program__code", "date")) == [("care", DAY)]
    RecomputeMark.objects.all().delete()
    stored = list(Evaluation.objects.values_list("pk", "updated_at", "batch"))
    again = import_evaluations(text, tmp_path)
    assert counts(again) == {"read": 8, "new": 0, "updated": 0, "unchanged": 8, "rejected": 0}
    assert list(Evaluation.objects.values_list("pk", "updated_at", "batch")) == stored
    assert Answer.objects.count() == 8
    assert not RecomputeMark.objects.exists()


@pytest.mark.usefixtures("marks_kept")
def test_a_changed_evaluation_marks_the_day_it_left_and_the_day_it_is_on(
    world: World, tmp_path: Path
) -> None:
    small_scorecard()
    import_evaluations(evaluations_csv(evaluation("EV-1", handled_contact(world))), tmp_path)
    RecomputeMark.objects.all().delete()
    later = handled_contact(world, day=DAY + dt.timedelta(days=2))
    import_evaluations(evaluations_csv(evaluation("EV-1", later)), tmp_path)
    assert sorted(RecomputeMark.objects.values_list("date", flat=True)) == [
        DAY,
        DAY + dt.timedelta(days=2),
    ]


@pytest.mark.usefixtures("marks_kept")
def test_a_calibration_evaluation_marks_no_kpi_day(world: World, tmp_path: Path) -> None:
    small_scorecard()
    contact = handled_contact(world)
    import_evaluations(
        evaluations_csv(evaluation("EV-1", contact, calibration_id="CAL-1")), tmp_path
    )
    assert Evaluation.objects.get().calibration is not None
    assert not RecomputeMark.objects.exists()


def test_a_changed_evaluation_replaces_its_answers_and_score(world: World, tmp_path: Path) -> None:
    small_scorecard()
    contact = handled_contact(world)
    import_evaluations(evaluations_csv(evaluation("EV-1", contact)), tmp_path)
    original = Evaluation.objects.get()
    changed = {**GOOD, "greets": "no", "accuracy": "na"}
    batch = import_evaluations(evaluations_csv(evaluation("EV-1", contact, changed)), tmp_path)
    assert counts(batch) == {"read": 4, "new": 0, "updated": 4, "unchanged": 0, "rejected": 0}
    updated = Evaluation.objects.get()
    assert updated.pk == original.pk
    assert dict(updated.answers.values_list("criterion__key", "value")) == changed
    # 100 x (0 + 2 + 1.5) / (1 + 2 + 2): accuracy is left out
    assert updated.score == pytest.approx(70.0)
    assert updated.batch == batch
    assert Answer.objects.count() == 4


def test_a_naive_evaluation_time_is_the_programs_local_time(world: World, tmp_path: Path) -> None:
    small_scorecard()
    rows = evaluation("EV-1", handled_contact(world), evaluated_at="2026-07-01 10:00:00")
    import_evaluations(evaluations_csv(rows), tmp_path)
    # care is in Europe/London, on summer time in July
    assert Evaluation.objects.get().submitted_at == dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)


def test_the_version_defaults_to_the_scorecards_current_one(world: World, tmp_path: Path) -> None:
    small_scorecard()
    second = small_scorecard(version=2)
    rows = evaluation("EV-1", handled_contact(world), scorecard_version="")
    assert problems(import_evaluations(evaluations_csv(rows), tmp_path)) == []
    assert Evaluation.objects.get().scorecard == second


def test_an_imported_evaluation_moves_the_agents_qa_score(world: World, tmp_path: Path) -> None:
    small_scorecard()
    assert qa_score_of(world).n == 0
    answers = {**GOOD, "empathy": "5", "accuracy": "4"}
    import_evaluations(
        evaluations_csv(evaluation("EV-1", handled_contact(world), answers)), tmp_path
    )
    qa = qa_score_of(world)
    assert (qa.n, qa.value) == (1, pytest.approx(100.0))
    import_evaluations(evaluations_csv(evaluation("EV-2", handled_contact(world))), tmp_path)
    qa = qa_score_of(world)
    assert (qa.n, qa.value) == (2, pytest.approx((100.0 + GOOD_SCORE) / 2))


def test_an_unknown_criterion_is_named_with_the_scorecards_criteria(
    world: World, tmp_path: Path
) -> None:
    small_scorecard()
    answers = {"greeting": "yes", "verifies": "yes", "empathy": "4", "accuracy": "2"}
    batch = import_evaluations(
        evaluations_csv(evaluation("EV-1", handled_contact(world), answers)), tmp_path
    )
    missing = "an answer to every criterion of small v1 (na counts as one); missing: greets"
    assert sorted(problems(batch)) == [
        (
            1,
            "criterion",
            "greeting",
            "a criterion of small v1: greets, verifies, empathy, accuracy",
        ),
        (1, "evaluation_id", "EV-1", missing),
        (2, "evaluation_id", "EV-1", missing),
        (3, "evaluation_id", "EV-1", missing),
        (4, "evaluation_id", "EV-1", missing),
    ]
    assert not Evaluation.objects.exists()


def test_a_bad_answer_says_what_its_criterion_takes_and_rejects_its_whole_evaluation(
    world: World, tmp_path: Path
) -> None:
    small_scorecard()
    answers = {**GOOD, "empathy": "7"}
    batch = import_evaluations(
        evaluations_csv(evaluation("EV-1", handled_contact(world), answers)), tmp_path
    )
    whole = "every row of evaluation EV-1 valid: an evaluation is imported whole (row 3 is not)"
    assert sorted(problems(batch)) == [
        (1, "evaluation_id", "EV-1", whole),
        (2, "evaluation_id", "EV-1", whole),
        (3, "answer", "7", "a whole number 1-5, or na"),
        (4, "evaluation_id", "EV-1", whole),
    ]
    assert [row["_expected"] for row in error_file_rows(batch) if row["_row"] == "3"] == [
        "a whole number 1-5, or na"
    ]


def test_an_unknown_evaluator_or_contact_is_an_error_on_each_of_its_rows(
    world: World, tmp_path: Path
) -> None:
    small_scorecard()
    text = evaluations_csv(
        evaluation("EV-1", handled_contact(world), evaluator="Q9"),
        evaluation("EV-2", "no-such-contact"),
    )
    batch = import_evaluations(text, tmp_path)
    assert sorted(problems(batch)) == [
        *[
            (row, "evaluator", "Q9", "a person in the roster (import the roster first)")
            for row in (1, 2, 3, 4)
        ],
        *[
            (
                row,
                "interaction_external_id",
                "no-such-contact",
                "a contact of program care (import the interactions first)",
            )
            for row in (5, 6, 7, 8)
        ],
    ]


def test_an_evaluator_named_by_their_id_in_another_system_is_found(
    world: World, tmp_path: Path
) -> None:
    small_scorecard()
    rows = evaluation("EV-1", handled_contact(world), evaluator="acd-Q1")
    assert problems(import_evaluations(evaluations_csv(rows), tmp_path)) == []
    assert Evaluation.objects.get().evaluator == world.qa


def test_an_evaluation_missing_criteria_names_them_on_each_of_its_rows(
    world: World, tmp_path: Path
) -> None:
    small_scorecard()
    answers = {"greets": "yes", "verifies": "na"}
    batch = import_evaluations(
        evaluations_csv(evaluation("EV-1", handled_contact(world), answers)), tmp_path
    )
    missing = (
        "an answer to every criterion of small v1 (na counts as one); missing: empathy, accuracy"
    )
    assert problems(batch) == [
        (1, "evaluation_id", "EV-1", missing),
        (2, "evaluation_id", "EV-1", missing),
    ]


def test_rows_of_one_evaluation_that_disagree_are_errors(world: World, tmp_path: Path) -> None:
    small_scorecard()
    rows = evaluation("EV-1", handled_contact(world))
    rows[2]["evaluator"] = "M1"
    rows[3]["evaluated_at"] = "2026-11-13T10:00:00+00:00"
    batch = import_evaluations(evaluations_csv(rows), tmp_path)
    whole = "every row of evaluation EV-1 valid: an evaluation is imported whole (row 3 is not)"
    assert sorted(problems(batch)) == [
        (1, "evaluation_id", "EV-1", whole),
        (2, "evaluation_id", "EV-1", whole),
        (
            3,
            "evaluator",
            "M1",
            "the same evaluator on every row of evaluation EV-1 (row 1 has 'Q1')",
        ),
        (
            4,
            "evaluated_at",
            "2026-11-13T10:00:00+00:00",
            f"the same evaluated_at on every row of evaluation EV-1 (row 1 has '{WHEN}')",
        ),
    ]


def test_a_criterion_answered_twice_is_an_error(world: World, tmp_path: Path) -> None:
    small_scorecard()
    rows = evaluation("EV-1", handled_contact(world))
    rows.append({**rows[0], "answer": "no"})
    batch = import_evaluations(evaluations_csv(rows), tmp_path)
    assert (
        5,
        "criterion",
        "greets",
        "one answer per criterion of an evaluation (row 1 answers it too)",
    ) in problems(batch)


def test_an_unknown_scorecard_or_version_is_named(world: World, tmp_path: Path) -> None:
    small_scorecard()
    text = evaluations_csv(
        evaluation("EV-1", handled_contact(world), scorecard="tiny"),
        evaluation("EV-2", handled_contact(world), scorecard_version="3"),
    )
    batch = import_evaluations(text, tmp_path)
    found = {(row, column, value, expected) for row, column, value, expected in problems(batch)}
    assert (1, "scorecard", "tiny", "the key of an imported scorecard (small)") in found
    assert (5, "scorecard_version", "3", "a version of small that exists: 1") in found


def test_a_rejected_file_writes_nothing(world: World, tmp_path: Path) -> None:
    small_scorecard()
    text = evaluations_csv(
        evaluation("EV-1", handled_contact(world)),
        evaluation("EV-2", handled_contact(world), {**GOOD, "greets": "perhaps"}),
        evaluation("EV-3", handled_contact(world), calibration_id="CAL-1"),
    )
    batch = import_evaluations(text, tmp_path)
    assert batch.status == BatchStatus.REJECTED
    assert counts(batch) == {"read": 12, "new": 0, "updated": 0, "unchanged": 0, "rejected": 4}
    assert not Evaluation.objects.exists()
    assert not Answer.objects.exists()
    assert not Calibration.objects.exists()
    assert not RecomputeMark.objects.exists()


def test_with_skip_the_good_evaluations_are_written(world: World, tmp_path: Path) -> None:
    small_scorecard()
    text = evaluations_csv(
        evaluation("EV-1", handled_contact(world)),
        evaluation("EV-2", handled_contact(world), {**GOOD, "greets": "perhaps"}),
    )
    batch = import_evaluations(text, tmp_path, on_error="skip")
    assert counts(batch) == {"read": 8, "new": 4, "updated": 0, "unchanged": 0, "rejected": 4}
    assert list(Evaluation.objects.values_list("external_id", flat=True)) == ["EV-1"]
    assert {row["_row"] for row in error_file_rows(batch)} == {"5", "6", "7", "8"}


def test_an_evaluations_dry_run_counts_and_writes_nothing(world: World, tmp_path: Path) -> None:
    small_scorecard()
    batch = import_evaluations(
        evaluations_csv(evaluation("EV-1", handled_contact(world))), tmp_path, dry_run=True
    )
    assert counts(batch) == {"read": 4, "new": 4, "updated": 0, "unchanged": 0, "rejected": 0}
    assert not Evaluation.objects.exists()
    assert not RecomputeMark.objects.exists()


def test_calibration_rows_make_one_session_found_by_its_id(world: World, tmp_path: Path) -> None:
    small_scorecard()
    contact = handled_contact(world)
    text = evaluations_csv(
        evaluation("EV-1", contact, calibration_id="CAL-7"),
        # A lead takes part: an imported session takes the evaluators its file names.
        evaluation(
            "EV-2", contact, {**GOOD, "greets": "no"}, evaluator="L1", calibration_id="CAL-7"
        ),
    )
    batch = import_evaluations(text, tmp_path)
    assert problems(batch) == []
    session = Calibration.objects.get(program=world.care, source="canonical", external_id="CAL-7")
    assert session.name == "Calibration CAL-7"
    assert session.scorecard.key == "small"
    assert list(session.interactions.all()) == [contact]
    assert set(session.evaluators.all()) == {world.qa, world.lead}
    assert set(session.evaluations.values_list("external_id", flat=True)) == {"EV-1", "EV-2"}
    # Calibration answers are not the agent's QA score; an ordinary evaluation of the day is.
    import_evaluations(evaluations_csv(evaluation("EV-3", handled_contact(world))), tmp_path)
    assert qa_score_of(world).n == 1
    again = import_evaluations(text, tmp_path)
    assert counts(again)["unchanged"] == 8
    assert Calibration.objects.count() == 1


def test_a_calibration_session_uses_one_scorecard(world: World, tmp_path: Path) -> None:
    small_scorecard()
    services.scorecard_import(document=small_document(key="other"), by=None)
    contact = handled_contact(world)
    text = evaluations_csv(
        evaluation("EV-1", contact, calibration_id="CAL-7"),
        evaluation("EV-2", contact, evaluator="L1", scorecard="other", calibration_id="CAL-7"),
    )
    batch = import_evaluations(text, tmp_path)
    assert (
        5,
        "scorecard",
        "other",
        "the scorecard of the rest of calibration CAL-7 (small v1 in row 1)",
    ) in problems(batch)
    assert not Calibration.objects.exists()


def test_comments_reach_the_error_file_neutralised(world: World, tmp_path: Path) -> None:
    small_scorecard()
    comments = json.dumps({"greets": '=HYPERLINK("x")'})
    rows = evaluation("EV-1", "no-such-contact", comments=comments)
    batch = import_evaluations(evaluations_csv(rows), tmp_path)
    assert error_file_rows(batch)[0]["comment"] == '\'=HYPERLINK("x")'
    assert not Comment.objects.exists()


# --- the simulator's files ---------------------------------------------------------------------


def test_the_simulators_qa_files_import_without_a_single_rejected_row(
    db: None, tmp_path: Path
) -> None:
    from coachloop.simulator.services import simulate

    out = tmp_path / "sim"
    simulate(
        out=out,
        agents=15,
        days=21,
        start=dt.date(2026, 10, 1),
        seed=4,
        coaching_effect=0.5,
        program_problem=True,
    )
    for kind, name in (
        ("roster", "roster.csv"),
        ("interactions", "interactions.csv"),
        ("transcripts", "transcripts.jsonl"),
        ("scorecard", "scorecard.json"),
        ("evaluations", "evaluations.csv"),
    ):
        code, printed = cli(kind, str(out / name))
        assert code == 0, printed
    with (out / "evaluations.csv").open(encoding="utf-8", newline="") as handle:
        lines = list(csv.DictReader(handle))
    evaluation_ids = {line["evaluation_id"] for line in lines}
    sessions = {line["calibration_id"] for line in lines} - {""}
    assert Evaluation.objects.count() == len(evaluation_ids) > 0
    assert Answer.objects.count() == len(lines)
    assert set(Calibration.objects.values_list("external_id", flat=True)) == sessions
    transcripts = (out / "transcripts.jsonl").read_text(encoding="utf-8").splitlines()
    assert Transcript.objects.count() == len(transcripts)
    batches = ImportBatch.objects.filter(kind__in=["transcripts", "scorecard", "evaluations"])
    assert sum(batches.values_list("rows_rejected", flat=True)) == 0


def test_the_demo_loads_the_qa_files_and_their_scores_reach_the_kpis(db: None) -> None:
    from django.db.models import Sum

    from coachloop.core.demo import build_demo
    from coachloop.metrics.models import DailyRollup

    report = build_demo(agents=12, days=14, seed=1)
    assert report.counts["evaluations"] == Evaluation.objects.count() > 0
    assert report.counts["transcripts"] == Transcript.objects.count() > 0
    assert Scorecard.objects.filter(key="cx-core", is_current=True).exists()
    counted = Evaluation.objects.counted()
    rolled_up = DailyRollup.objects.aggregate(n=Sum("qa_n"), total=Sum("qa_sum"))
    assert rolled_up["n"] == counted.count()
    assert rolled_up["total"] == pytest.approx(counted.aggregate(total=Sum("score"))["total"])
