"""Writes of QA records: scorecards and their versions, evaluations (draft, answers, comments,
submit), acknowledgement, disputes, calibration sessions and the QA policy.

Every score comes from ``scoring.score``; every change an agent could care about writes an
event, and a change to a counted score marks the contact's day for KPI recomputation (applied
when the transaction commits)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from coachloop.core.errors import Conflict, ErrorDetail, InvalidInput, NotAllowed
from coachloop.core.services import event_record
from coachloop.interactions.models import Interaction, Transcript
from coachloop.interactions.services import recompute_marks_add
from coachloop.learning.models import Skill
from coachloop.learning.services import skill_upsert
from coachloop.org.models import Channel, Person, Program, Role, RoleAssignment
from coachloop.org.scope import scope_for
from coachloop.quality import scoring, selectors
from coachloop.quality.models import (
    Answer,
    Calibration,
    CalibrationStatus,
    Comment,
    CriterionType,
    CriticalScope,
    Dispute,
    DisputeItem,
    DisputeOutcome,
    DisputeStatus,
    Evaluation,
    EvaluationStatus,
    QaPolicy,
    Sample,
    SampleReason,
    Scorecard,
    Section,
)
from coachloop.quality.models import Criterion as CriterionRow

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


def _actor(user: AnyUser | None) -> Any:
    return user if user is not None and user.is_authenticated else None


def _person_of(user: AnyUser | None) -> Person | None:
    person_id = scope_for(user).person_id if user is not None else None
    return Person.objects.filter(pk=person_id).first() if person_id else None


def _evaluation_event(
    evaluation: Evaluation, verb: str, *, by: AnyUser | None, params: dict[str, Any]
) -> None:
    """An event about an evaluation: seen by whoever sees the evaluated agent."""
    event_record(
        verb=verb,
        actor=by,
        target=evaluation,
        program=evaluation.program,
        person=evaluation.agent,
        params=params,
    )


def _mark_for_kpis(evaluation: Evaluation, reason: str) -> None:
    """A counted score changed: its contact's day needs its rollups again."""
    if evaluation.calibration_id is not None:
        return
    from coachloop.metrics.services import rollups_apply_marks

    recompute_marks_add(marks={(evaluation.program_id, evaluation.local_date)}, reason=reason)
    transaction.on_commit(lambda: rollups_apply_marks())


# --- scorecards --------------------------------------------------------------------------------


def _problem(path: str, value: Any, expected: str) -> ErrorDetail:
    return ErrorDetail(column=path, value=value, expected=expected)


def scorecard_normalise(document: Any) -> dict[str, Any]:
    """Check a scorecard document (CONTRACTS.md) and return it with every default filled in;
    raises InvalidInput naming each problem by its JSON path."""
    problems: list[ErrorDetail] = []
    if not isinstance(document, dict):
        raise InvalidInput(
            "A scorecard is a JSON object", [_problem("", type(document).__name__, "an object")]
        )
    key = document.get("key")
    if not isinstance(key, str) or not key.strip() or not _is_slug(key):
        problems.append(_problem("key", key, "a key of letters, digits, - and _"))
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(_problem("name", name, "a name"))
    version = document.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(_problem("version", version, "a whole number from 1"))
    scope = document.get("critical_scope", CriticalScope.EVALUATION)
    if scope not in CriticalScope.values:
        problems.append(_problem("critical_scope", scope, "evaluation or section"))
    lists: dict[str, list[str]] = {}
    for field in ("programs", "channels", "call_types"):
        value = document.get(field) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(_problem(field, value, "a list of codes (empty = all)"))
            value = []
        lists[field] = sorted(set(value))
    for channel in lists["channels"]:
        if channel not in Channel.values:
            problems.append(_problem("channels", channel, "one of " + ", ".join(Channel.values)))
    known_programs = set(
        Program.objects.filter(code__in=lists["programs"]).values_list("code", flat=True)
    )
    for code in lists["programs"]:
        if code not in known_programs:
            problems.append(_problem("programs", code, "the code of an existing program"))
    skills = _normalise_skills(document.get("skills") or [], problems)
    sections = _normalise_sections(document.get("sections"), skills, problems)
    if problems:
        raise InvalidInput(
            f"The scorecard has {len(problems)} problem{'s' if len(problems) != 1 else ''}: "
            + "; ".join(f"{p.column}: {p.value!r} is not {p.expected}" for p in problems[:5]),
            problems,
        )
    return {
        "key": key,
        "name": name.strip() if isinstance(name, str) else name,
        "version": version,
        "critical_scope": scope,
        **lists,
        "skills": [skills[k] for k in sorted(skills)],
        "sections": sections,
    }


def _is_slug(text: str) -> bool:
    return all(ch.isalnum() or ch in "-_" for ch in text) and len(text) <= 100


def _normalise_skills(raw: Any, problems: list[ErrorDetail]) -> dict[str, dict[str, Any]]:
    skills: dict[str, dict[str, Any]] = {}
    if not isinstance(raw, list):
        problems.append(_problem("skills", raw, "a list of skills"))
        return skills
    for index, skill in enumerate(raw):
        path = f"skills[{index}]"
        if not isinstance(skill, dict) or not isinstance(skill.get("key"), str):
            problems.append(_problem(path, skill, "an object with a key"))
            continue
        if skill.get("kind") not in ("knowledge", "behaviour"):
            problems.append(_problem(f"{path}.kind", skill.get("kind"), "knowledge or behaviour"))
        skills[skill["key"]] = {
            "key": skill["key"],
            "name": str(skill.get("name") or skill["key"]),
            "kind": skill.get("kind"),
            "call_type": skill.get("call_type") or None,
        }
    return skills


def _normalise_sections(
    raw: Any, skills: dict[str, dict[str, Any]], problems: list[ErrorDetail]
) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        problems.append(_problem("sections", raw, "a non-empty list of sections"))
        return []
    catalog = set(Skill.objects.values_list("key", flat=True)) | set(skills)
    seen_sections: set[str] = set()
    seen_criteria: set[str] = set()
    sections: list[dict[str, Any]] = []
    for s_index, section in enumerate(raw):
        path = f"sections[{s_index}]"
        if not isinstance(section, dict):
            problems.append(_problem(path, section, "an object"))
            continue
        key = section.get("key")
        if not isinstance(key, str) or not _is_slug(key) or key in seen_sections:
            problems.append(_problem(f"{path}.key", key, "a key not used by another section"))
        seen_sections.add(str(key))
        criteria_raw = section.get("criteria")
        if not isinstance(criteria_raw, list) or not criteria_raw:
            problems.append(_problem(f"{path}.criteria", criteria_raw, "a non-empty list"))
            criteria_raw = []
        criteria = []
        for c_index, criterion in enumerate(criteria_raw):
            c_path = f"{path}.criteria[{c_index}]"
            if not isinstance(criterion, dict):
                problems.append(_problem(c_path, criterion, "an object"))
                continue
            criteria.append(
                _normalise_criterion(criterion, c_path, catalog, seen_criteria, problems)
            )
        sections.append({"key": key, "name": str(section.get("name") or key), "criteria": criteria})
    return sections


def _normalise_criterion(
    criterion: dict[str, Any],
    path: str,
    catalog: set[str],
    seen: set[str],
    problems: list[ErrorDetail],
) -> dict[str, Any]:
    key = criterion.get("key")
    if not isinstance(key, str) or not _is_slug(key) or key in seen:
        problems.append(_problem(f"{path}.key", key, "a key not used by another criterion"))
    seen.add(str(key))
    question = criterion.get("question")
    if not isinstance(question, str) or not question.strip():
        problems.append(_problem(f"{path}.question", question, "the question evaluators answer"))
    kind = criterion.get("type")
    if kind not in CriterionType.values:
        problems.append(_problem(f"{path}.type", kind, "yes_no, scale_1_5 or points"))
    weight = criterion.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
        problems.append(_problem(f"{path}.weight", weight, "a number above 0"))
        weight = 1
    critical = criterion.get("critical", False)
    if not isinstance(critical, bool):
        problems.append(_problem(f"{path}.critical", critical, "true or false"))
    skill_keys = criterion.get("skills") or []
    if not isinstance(skill_keys, list):
        problems.append(_problem(f"{path}.skills", skill_keys, "a list of skill keys"))
        skill_keys = []
    for skill in skill_keys:
        if skill not in catalog:
            problems.append(
                _problem(f"{path}.skills", skill, "a skill in the catalog or the file's skills")
            )
    return {
        "key": key,
        "question": str(question or "").strip(),
        "guidance": str(criterion.get("guidance") or ""),
        "type": kind,
        "weight": float(weight),
        "critical": bool(critical),
        "skills": sorted(set(skill_keys)),
    }


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    """What makes two versions the same: everything but the skills catalog entries."""
    return {k: v for k, v in document.items() if k != "skills"}


@transaction.atomic
def scorecard_import(*, document: Any, by: AnyUser | None) -> tuple[Scorecard, bool]:
    """Store a scorecard version from its JSON document (CONTRACTS.md). Returns the version and
    whether it was created; the same key and version with the same content is left as it is,
    with different content it is an error (bump the version)."""
    normal = scorecard_normalise(document)
    programs = list(Program.objects.filter(code__in=normal["programs"]))
    if by is not None and not selectors.can_manage_scorecards(user=by, programs=programs):
        raise NotAllowed(
            "Only org admins change scorecards for all programs; QA analysts and managers "
            "change those of their programs"
        )
    for skill in normal["skills"]:
        skill_upsert(
            key=skill["key"],
            name=skill["name"],
            kind=skill["kind"],
            call_type=skill["call_type"] or "",
        )
    existing = Scorecard.objects.filter(key=normal["key"], version=normal["version"]).first()
    if existing is not None:
        if _comparable(selectors.scorecard_document(existing)) == _comparable(normal):
            return existing, False
        raise InvalidInput(
            f"Scorecard {normal['key']!r} version {normal['version']} already exists with "
            "different content: give the changed scorecard a new version",
            [_problem("version", normal["version"], "a version not used yet for this key")],
        )
    scorecard = _scorecard_write(normal, programs)
    event_record(
        verb="scorecard.imported",
        actor=by,
        target=scorecard,
        params={"key": scorecard.key, "version": scorecard.version},
    )
    return scorecard, True


def _scorecard_write(normal: dict[str, Any], programs: list[Program]) -> Scorecard:
    latest = (
        Scorecard.objects.filter(key=normal["key"])
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    is_current = latest is None or normal["version"] > latest
    if is_current:
        Scorecard.objects.filter(key=normal["key"]).update(is_current=False)
    scorecard = Scorecard.objects.create(
        key=normal["key"],
        version=normal["version"],
        name=normal["name"],
        critical_scope=normal["critical_scope"],
        channels=normal["channels"],
        call_types=normal["call_types"],
        is_current=is_current,
    )
    scorecard.programs.set(programs)
    _criteria_write(scorecard, normal["sections"])
    return scorecard


def _criteria_write(scorecard: Scorecard, sections: list[dict[str, Any]]) -> None:
    skills = {skill.key: skill for skill in Skill.objects.all()}
    for s_position, section in enumerate(sections):
        row = Section.objects.create(
            scorecard=scorecard, key=section["key"], name=section["name"], position=s_position
        )
        for c_position, criterion in enumerate(section["criteria"]):
            created = CriterionRow.objects.create(
                scorecard=scorecard,
                section=row,
                key=criterion["key"],
                question=criterion["question"],
                guidance=criterion["guidance"],
                type=criterion["type"],
                weight=criterion["weight"],
                critical=criterion["critical"],
                position=c_position,
            )
            created.skills.set([skills[k] for k in criterion["skills"]])


@transaction.atomic
def scorecard_update(*, scorecard: Scorecard, document: Any, by: AnyUser | None) -> Scorecard:
    """Change a scorecard. Once it has evaluations the change becomes a new version (the old
    evaluations keep theirs, and their scores); before that it is edited in place."""
    normal = scorecard_normalise({**document, "key": scorecard.key, "version": scorecard.version})
    programs = list(Program.objects.filter(code__in=normal["programs"]))
    current_programs = list(scorecard.programs.all())
    if by is not None and not (
        selectors.can_manage_scorecards(user=by, programs=programs)
        and selectors.can_manage_scorecards(user=by, programs=current_programs)
    ):
        raise NotAllowed("You may not change this scorecard")
    for skill in normal["skills"]:
        skill_upsert(
            key=skill["key"],
            name=skill["name"],
            kind=skill["kind"],
            call_type=skill["call_type"] or "",
        )
    if _comparable(selectors.scorecard_document(scorecard)) == _comparable(normal):
        return scorecard
    if scorecard.evaluations.exists():
        latest = Scorecard.objects.filter(key=scorecard.key).order_by("-version").first()
        normal["version"] = (latest.version if latest else scorecard.version) + 1
        new = _scorecard_write(normal, programs)
        event_record(
            verb="scorecard.versioned",
            actor=by,
            target=new,
            params={"key": new.key, "version": new.version, "previous_version": scorecard.version},
        )
        return new
    scorecard.sections.all().delete()
    scorecard.name, scorecard.critical_scope = normal["name"], normal["critical_scope"]
    scorecard.channels, scorecard.call_types = normal["channels"], normal["call_types"]
    scorecard.save()
    scorecard.programs.set(programs)
    _criteria_write(scorecard, normal["sections"])
    event_record(
        verb="scorecard.updated",
        actor=by,
        target=scorecard,
        params={"key": scorecard.key, "version": scorecard.version},
    )
    return scorecard


# --- evaluations -------------------------------------------------------------------------------


def _require_evaluator(user: AnyUser | None, program: Program) -> None:
    if user is not None and not selectors.can_evaluate(user=user, program=program):
        raise NotAllowed("Only the program's QA analysts, managers and org admins evaluate")


@transaction.atomic
def evaluation_start(
    *,
    interaction: Interaction,
    by: AnyUser | None,
    scorecard: Scorecard | None = None,
    calibration: Calibration | None = None,
) -> Evaluation:
    """A draft evaluation of a handled contact by the user (their open draft of it when they
    already have one). Outside calibration the program's QA analysts and managers evaluate;
    inside, the session's participants do."""
    program = interaction.program
    if calibration is None:
        _require_evaluator(by, program)
    if not interaction.answered or interaction.agent_id is None:
        raise InvalidInput(
            "Only a handled contact (one with an agent) can be evaluated",
            [_problem("interaction", interaction.pk, "a contact an agent handled")],
        )
    evaluator = _person_of(by)
    if calibration is not None:
        if not calibration.interactions.filter(pk=interaction.pk).exists():
            raise InvalidInput(
                "This contact is not part of the calibration session",
                [_problem("interaction", interaction.pk, "a contact of the session")],
            )
        if calibration.status != CalibrationStatus.OPEN:
            raise Conflict("The calibration session is closed")
        # Participants evaluate (leads may be among them); nobody else adds to the session.
        participant = (
            evaluator is not None and calibration.evaluators.filter(pk=evaluator.pk).exists()
        )
        if by is not None and not participant:
            raise NotAllowed("You are not an evaluator of this calibration session")
        scorecard = calibration.scorecard
    scorecard = scorecard or selectors.scorecard_for(interaction)
    if scorecard is None:
        raise InvalidInput(
            "No scorecard applies to this contact (its program, channel and call type)",
            [_problem("scorecard", None, "a current scorecard for this contact")],
        )
    existing = Evaluation.objects.filter(
        interaction=interaction,
        evaluator=evaluator,
        calibration=calibration,
        created_by=_actor(by),
    )
    if calibration is not None:
        found = existing.first()
        if found is not None:
            return found
    else:
        draft = existing.filter(status=EvaluationStatus.DRAFT).first()
        if draft is not None:
            return draft
    return Evaluation.objects.create(
        interaction=interaction,
        scorecard=scorecard,
        program=program,
        agent_id=interaction.agent_id,
        team_id=interaction.team_id,
        local_date=interaction.local_date,
        evaluator=evaluator,
        created_by=_actor(by),
        calibration=calibration,
    )


def _require_author(evaluation: Evaluation, user: AnyUser | None) -> None:
    """Only the evaluator changes their own draft (an org admin may finish any)."""
    if user is None:
        return
    scope = scope_for(user)
    mine = (evaluation.evaluator_id is not None and evaluation.evaluator_id == scope.person_id) or (
        evaluation.evaluator_id is None and evaluation.created_by_id == user.pk
    )
    if not mine and not scope.is_admin:
        raise NotAllowed("Only its evaluator may change this evaluation")


def _require_draft(evaluation: Evaluation) -> None:
    if evaluation.status != EvaluationStatus.DRAFT:
        raise Conflict("This evaluation is submitted; its answers change only through a dispute")


def _criteria_by_key(evaluation: Evaluation) -> dict[str, CriterionRow]:
    return {c.key: c for c in selectors.scorecard_criteria(evaluation.scorecard)}


def _checked_answers(
    criteria: Mapping[str, CriterionRow], answers: Mapping[str, str]
) -> dict[str, str]:
    """The answers in their stored form; '' means 'not answered yet'. Raises InvalidInput
    naming every bad one."""
    checked: dict[str, str] = {}
    problems: list[ErrorDetail] = []
    rules = {rule.key: rule for rule in selectors.scorecard_rules(list(criteria.values()))}
    for key, value in answers.items():
        if key not in criteria:
            problems.append(_problem(key, value, "a criterion of this scorecard"))
            continue
        text = (value or "").strip()
        if not text:
            checked[key] = ""
            continue
        try:
            checked[key] = scoring.normalise(rules[key], text)
        except scoring.AnswerError as exc:
            problems.append(_problem(key, value, exc.expected))
    if problems:
        raise InvalidInput(
            "Some answers do not fit their criteria: "
            + "; ".join(f"{p.column}: {p.value!r} is not {p.expected}" for p in problems),
            problems,
        )
    return checked


def _score_of(evaluation: Evaluation, criteria: Mapping[str, CriterionRow]) -> scoring.Score:
    rules = selectors.scorecard_rules(list(criteria.values()))
    return scoring.score(
        rules, selectors.evaluation_answers(evaluation), evaluation.scorecard.critical_scope
    )


def _rescore(evaluation: Evaluation, criteria: Mapping[str, CriterionRow]) -> scoring.Score:
    """Score the stored answers and keep the result on the evaluation."""
    result = _score_of(evaluation, criteria)
    evaluation.score, evaluation.critical_failed = result.score, result.critical_failed
    evaluation.save(update_fields=["score", "critical_failed", "updated_at"])
    return result


def _answers_write(
    evaluation: Evaluation, criteria: Mapping[str, CriterionRow], answers: Mapping[str, str]
) -> None:
    rules = {rule.key: rule for rule in selectors.scorecard_rules(list(criteria.values()))}
    for key, value in answers.items():
        if not value:
            Answer.objects.filter(evaluation=evaluation, criterion=criteria[key]).delete()
            continue
        Answer.objects.update_or_create(
            evaluation=evaluation,
            criterion=criteria[key],
            defaults={"value": value, "credit": scoring.credit(rules[key], value)},
        )


@transaction.atomic
def evaluation_save(
    *,
    evaluation: Evaluation,
    by: AnyUser | None,
    answers: Mapping[str, str] | None = None,
    feedback: str | None = None,
) -> scoring.Score:
    """Save a draft's answers (and overall feedback); returns the live score of what has been
    answered so far."""
    _require_author(evaluation, by)
    _require_draft(evaluation)
    criteria = _criteria_by_key(evaluation)
    if answers:
        _answers_write(evaluation, criteria, _checked_answers(criteria, answers))
    if feedback is not None:
        evaluation.feedback = feedback
        evaluation.save(update_fields=["feedback", "updated_at"])
    return _rescore(evaluation, criteria)


@transaction.atomic
def evaluation_submit(
    *,
    evaluation: Evaluation,
    by: AnyUser | None,
    answers: Mapping[str, str] | None = None,
    feedback: str | None = None,
    submitted_at: dt.datetime | None = None,
) -> Evaluation:
    """Submit a draft: every criterion needs an answer (N/A is one). The score is final from
    here on except through a dispute; the contact's day is marked for the QA score KPI."""
    evaluation_save(evaluation=evaluation, by=by, answers=answers, feedback=feedback)
    criteria = _criteria_by_key(evaluation)
    given = selectors.evaluation_answers(evaluation)
    rules = {rule.key: rule for rule in selectors.scorecard_rules(list(criteria.values()))}
    missing = [key for key in criteria if key not in given]
    if missing:
        raise InvalidInput(
            f"{len(missing)} criteria have no answer yet: " + ", ".join(missing),
            [_problem(key, None, scoring.expected_answer(rules[key])) for key in missing],
        )
    evaluation.status = EvaluationStatus.SUBMITTED
    evaluation.submitted_at = submitted_at or timezone.now()
    evaluation.save(update_fields=["status", "submitted_at", "updated_at"])
    Sample.objects.filter(interaction_id=evaluation.interaction_id, evaluation__isnull=True).update(
        evaluation=evaluation
    )
    _evaluation_event(
        evaluation,
        "evaluation.submitted",
        by=by,
        params={
            "score": evaluation.score,
            "critical_failed": evaluation.critical_failed,
            "scorecard": evaluation.scorecard.key,
            "version": evaluation.scorecard.version,
            "calibration": evaluation.calibration_id,
        },
    )
    _mark_for_kpis(evaluation, f"evaluation #{evaluation.pk}")
    return evaluation


@transaction.atomic
def evaluation_comment_add(
    *,
    evaluation: Evaluation,
    by: AnyUser | None,
    text: str,
    criterion_key: str | None = None,
    turn: int | None = None,
    offset_s: float | None = None,
) -> Comment:
    """A comment while evaluating, on a criterion or the contact, optionally pinned to a
    transcript turn (its index) or a recording offset."""
    _require_author(evaluation, by)
    _require_draft(evaluation)
    problems: list[ErrorDetail] = []
    if not text.strip():
        problems.append(_problem("text", text, "the comment's text"))
    criterion = None
    if criterion_key:
        criterion = _criteria_by_key(evaluation).get(criterion_key)
        if criterion is None:
            problems.append(_problem("criterion", criterion_key, "a criterion of this scorecard"))
    if turn is not None:
        transcript = Transcript.objects.filter(interaction_id=evaluation.interaction_id).first()
        turns = len(transcript.turns) if transcript is not None else 0
        if not 0 <= turn < turns:
            problems.append(
                _problem(
                    "turn",
                    turn,
                    f"a turn of the transcript (0-{turns - 1})"
                    if turns
                    else "no turn: this contact has no transcript",
                )
            )
    if offset_s is not None and offset_s < 0:
        problems.append(_problem("offset_s", offset_s, "seconds from the start, 0 or more"))
    if problems:
        raise InvalidInput("The comment cannot be saved: " + problems[0].expected, problems)
    return Comment.objects.create(
        evaluation=evaluation,
        criterion=criterion,
        text=text.strip(),
        turn=turn,
        offset_s=offset_s,
        author=_actor(by),
    )


@transaction.atomic
def evaluation_comment_delete(*, comment: Comment, by: AnyUser | None) -> None:
    _require_author(comment.evaluation, by)
    _require_draft(comment.evaluation)
    comment.delete()


@transaction.atomic
def evaluation_discard(*, evaluation: Evaluation, by: AnyUser | None) -> None:
    """Throw away a draft (a submitted evaluation stays: it is part of the record)."""
    _require_author(evaluation, by)
    _require_draft(evaluation)
    evaluation.delete()


@transaction.atomic
def evaluation_acknowledge(
    *, evaluation: Evaluation, by: AnyUser | None, comment: str = ""
) -> Evaluation:
    """The agent confirms they have read the evaluation (with an optional comment). Late
    acknowledgements are accepted and recorded as late."""
    if by is not None and not selectors.can_acknowledge(user=by, evaluation=evaluation):
        raise NotAllowed("Only the evaluated agent acknowledges an evaluation")
    if evaluation.status != EvaluationStatus.SUBMITTED or evaluation.calibration_id is not None:
        raise Conflict("Only a submitted evaluation can be acknowledged")
    if evaluation.acknowledged_at is not None:
        raise Conflict("This evaluation is already acknowledged")
    now = timezone.now()
    due = selectors.acknowledgement_due(evaluation)
    evaluation.acknowledged_at = now
    evaluation.acknowledgement_comment = comment.strip()
    evaluation.save(update_fields=["acknowledged_at", "acknowledgement_comment", "updated_at"])
    _evaluation_event(
        evaluation,
        "evaluation.acknowledged",
        by=by,
        params={"late": bool(due and now > due), "comment": evaluation.acknowledgement_comment},
    )
    return evaluation


# --- disputes ----------------------------------------------------------------------------------


@transaction.atomic
def dispute_open(
    *,
    evaluation: Evaluation,
    by: AnyUser | None,
    reason: str,
    criteria: Mapping[str, str],
) -> Dispute:
    """The agent or their lead disputes named criteria (key -> why) of a submitted evaluation."""
    if by is not None and not selectors.can_dispute(user=by, evaluation=evaluation):
        raise NotAllowed("Only the evaluated agent or their lead may dispute an evaluation")
    if evaluation.status != EvaluationStatus.SUBMITTED or evaluation.calibration_id is not None:
        raise Conflict("Only a submitted evaluation can be disputed")
    if evaluation.disputes.filter(status=DisputeStatus.OPEN).exists():
        raise Conflict("This evaluation already has an open dispute")
    by_key = _criteria_by_key(evaluation)
    answers = selectors.evaluation_answers(evaluation)
    problems = [
        _problem("criteria", key, "a criterion of this evaluation")
        for key in criteria
        if key not in by_key
    ]
    if not criteria:
        problems.append(_problem("criteria", None, "at least one disputed criterion"))
    if not reason.strip() and not any(r.strip() for r in criteria.values()):
        problems.append(_problem("reason", reason, "why the answers are wrong"))
    if problems:
        raise InvalidInput("The dispute cannot be opened: " + problems[0].expected, problems)
    dispute = Dispute.objects.create(
        evaluation=evaluation, raised_by=_actor(by), reason=reason.strip()
    )
    DisputeItem.objects.bulk_create(
        DisputeItem(
            dispute=dispute,
            criterion=by_key[key],
            reason=why.strip(),
            previous_value=answers.get(key, ""),
        )
        for key, why in criteria.items()
    )
    _evaluation_event(
        evaluation,
        "evaluation.disputed",
        by=by,
        params={"dispute": dispute.pk, "criteria": sorted(criteria), "reason": dispute.reason},
    )
    return dispute


@transaction.atomic
def dispute_resolve(
    *,
    dispute: Dispute,
    by: AnyUser | None,
    decisions: Mapping[str, str | None],
    note: str = "",
) -> Dispute:
    """A reviewer decides every disputed criterion: ``None`` (or the same answer) upholds it,
    another answer changes it. Each change and the new score are events that keep the previous
    value; the contact's day is marked for the QA score KPI."""
    evaluation = dispute.evaluation
    _require_evaluator(by, evaluation.program)
    if dispute.status != DisputeStatus.OPEN:
        raise Conflict("This dispute is already resolved")
    items = {item.criterion.key: item for item in dispute.items.select_related("criterion")}
    problems = [
        _problem(key, None, "a decision: uphold, or the corrected answer")
        for key in items
        if key not in decisions
    ]
    problems += [
        _problem(key, value, "a criterion of this dispute")
        for key, value in decisions.items()
        if key not in items
    ]
    if problems:
        raise InvalidInput("Decide every disputed criterion, and only those", problems)
    criteria = _criteria_by_key(evaluation)
    changes = _checked_answers(criteria, {key: value for key, value in decisions.items() if value})
    previous_score = evaluation.score
    for key, item in items.items():
        new_value = changes.get(key)
        if new_value is None or new_value == item.previous_value:
            item.outcome = DisputeOutcome.UPHELD
        else:
            item.outcome, item.new_value = DisputeOutcome.CHANGED, new_value
            _answers_write(evaluation, criteria, {key: new_value})
            _evaluation_event(
                evaluation,
                "evaluation.answer_changed",
                by=by,
                params={
                    "dispute": dispute.pk,
                    "criterion": key,
                    "previous": item.previous_value,
                    "new": new_value,
                },
            )
        item.save(update_fields=["outcome", "new_value"])
    _rescore(evaluation, criteria)
    dispute.status, dispute.resolved_at = DisputeStatus.RESOLVED, timezone.now()
    dispute.resolved_by, dispute.resolution_note = _actor(by), note.strip()
    dispute.save(
        update_fields=["status", "resolved_at", "resolved_by", "resolution_note", "updated_at"]
    )
    _evaluation_event(
        evaluation,
        "dispute.resolved",
        by=by,
        params={
            "dispute": dispute.pk,
            "previous_score": previous_score,
            "score": evaluation.score,
            "changed": sorted(k for k, i in items.items() if i.outcome == DisputeOutcome.CHANGED),
            "upheld": sorted(k for k, i in items.items() if i.outcome == DisputeOutcome.UPHELD),
            "note": dispute.resolution_note,
        },
    )
    if previous_score != evaluation.score:
        _mark_for_kpis(evaluation, f"dispute #{dispute.pk}")
    return dispute


# --- calibration -------------------------------------------------------------------------------

CALIBRATION_ROLES = (Role.QA, Role.MANAGER, Role.LEAD)


@transaction.atomic
def calibration_create(
    *,
    program: Program,
    name: str,
    interactions: Sequence[Interaction],
    evaluators: Sequence[Person],
    by: AnyUser | None,
    scorecard: Scorecard | None = None,
    reference_evaluator: Person | None = None,
    source: str = "app",
    external_id: str = "",
) -> Calibration:
    """A blind calibration session: the evaluators (QA analysts, managers or leads of the
    program) each score the same handled contacts; an optional reference evaluator's answers
    are the expert answer the others are compared with."""
    _require_evaluator(by, program)
    problems: list[ErrorDetail] = []
    if not name.strip():
        problems.append(_problem("name", name, "a name for the session"))
    if not interactions:
        problems.append(_problem("interactions", [], "at least one contact"))
    for interaction in interactions:
        if interaction.program_id != program.pk or not interaction.answered:
            problems.append(
                _problem("interactions", interaction.pk, "a handled contact of the program")
            )
    people = list(
        dict.fromkeys([*evaluators, *([reference_evaluator] if reference_evaluator else [])])
    )
    if len(people) < 2:
        problems.append(_problem("evaluators", [p.pk for p in people], "at least two evaluators"))
    allowed = set(
        RoleAssignment.objects.active()
        .filter(program=program, role__in=CALIBRATION_ROLES, person__in=people)
        .values_list("person_id", flat=True)
    )
    for person in people:
        if person.pk not in allowed:
            problems.append(
                _problem(
                    "evaluators", person.external_id, "a QA analyst, manager or lead of the program"
                )
            )
    scorecard = scorecard or (selectors.scorecard_for(interactions[0]) if interactions else None)
    if scorecard is None and interactions:
        problems.append(_problem("scorecard", None, "a scorecard that applies to the contacts"))
    if problems or scorecard is None:
        raise InvalidInput(
            "The calibration session cannot be created: " + problems[0].expected, problems
        )
    calibration = Calibration.objects.create(
        program=program,
        scorecard=scorecard,
        name=name.strip(),
        source=source,
        external_id=external_id,
        reference_evaluator=reference_evaluator,
        created_by=_actor(by),
    )
    calibration.interactions.set(interactions)
    calibration.evaluators.set(people)
    event_record(
        verb="calibration.created",
        actor=by,
        target=calibration,
        program=program,
        params={"contacts": len(interactions), "evaluators": [p.external_id for p in people]},
    )
    return calibration


@transaction.atomic
def calibration_close(*, calibration: Calibration, by: AnyUser | None) -> Calibration:
    """Close the session: every answer becomes visible to every participant."""
    _require_evaluator(by, calibration.program)
    if calibration.status == CalibrationStatus.CLOSED:
        return calibration
    calibration.status = CalibrationStatus.CLOSED
    calibration.save(update_fields=["status", "updated_at"])
    event_record(
        verb="calibration.closed", actor=by, target=calibration, program=calibration.program
    )
    return calibration


# --- policy ------------------------------------------------------------------------------------

POLICY_FIELDS = (
    "per_agent_per_week",
    "targeted_per_agent_per_week",
    "target_low_csat",
    "target_unresolved",
    "target_long_aht",
    "target_long_hold",
    "acknowledge_within_days",
)


@transaction.atomic
def qa_policy_set(*, program: Program, by: AnyUser | None, **values: Any) -> QaPolicy:
    _require_evaluator(by, program)
    unknown = sorted(set(values) - set(POLICY_FIELDS))
    if unknown:
        raise InvalidInput(
            "Unknown policy fields: " + ", ".join(unknown),
            [_problem(key, values[key], "one of " + ", ".join(POLICY_FIELDS)) for key in unknown],
        )
    policy, _ = QaPolicy.objects.get_or_create(program=program)
    for key, value in values.items():
        setattr(policy, key, value)
    policy.full_clean(exclude=["program"])
    policy.save()
    event_record(verb="qa_policy.set", actor=by, target=policy, program=program, params=values)
    return policy


# --- sampling ----------------------------------------------------------------------------------


@transaction.atomic
def samples_fill(*, program: Program, week_start: dt.date, by: AnyUser | None) -> list[Sample]:
    """Fill the program's QA queue for the week starting ``week_start`` (a local day) from its
    policy (``sampling``); agents already sampled that week are only topped up. Each agent's
    samples go to one QA analyst (the one with the fewest that week), so one person sees an
    agent's week; with no analysts in the program the samples are for any of its QA staff."""
    from coachloop.quality import sampling

    _require_evaluator(by, program)
    policy = selectors.policy_for(program)
    end = week_start + dt.timedelta(days=6)
    candidates = selectors.sampling_candidates(program=program, start=week_start, end=end)
    existing = list(
        Sample.objects.filter(program=program, week_start=week_start).values_list(
            "agent_id", "reason", "analyst_id"
        )
    )
    routine_had: dict[int, int] = {}
    targeted_had: dict[int, int] = {}
    for agent_id, reason, _ in existing:
        counter = routine_had if reason == SampleReason.ROUTINE else targeted_had
        counter[agent_id] = counter.get(agent_id, 0) + 1
    limits = sampling.thresholds(candidates)
    reasons = [
        reason
        for reason, enabled in (
            (SampleReason.LOW_CSAT, policy.target_low_csat),
            (SampleReason.UNRESOLVED, policy.target_unresolved),
            (SampleReason.LONG_AHT, policy.target_long_aht),
            (SampleReason.LONG_HOLD, policy.target_long_hold),
        )
        if enabled
    ]
    by_agent: dict[int, list[sampling.Candidate]] = {}
    for candidate in candidates:
        by_agent.setdefault(candidate.agent_id, []).append(candidate)
    analysts = selectors.program_analysts(program=program)
    load = {person_id: 0 for person_id in analysts}
    owner: dict[int, int | None] = {}
    for agent_id, _, analyst_id in existing:
        owner.setdefault(agent_id, analyst_id)
        if analyst_id in load:
            load[analyst_id] += 1
    created: list[Sample] = []
    for agent_id in sorted(by_agent):
        rng = sampling.rng_for(program.pk, week_start, agent_id)
        pool = by_agent[agent_id]
        routine = sampling.routine_picks(
            pool, policy.per_agent_per_week - routine_had.get(agent_id, 0), rng
        )
        taken = {pick.interaction_id for pick in routine}
        targeted = sampling.targeted_picks(
            [c for c in pool if c.interaction_id not in taken],
            policy.targeted_per_agent_per_week - targeted_had.get(agent_id, 0),
            reasons,
            limits,
            rng,
        )
        picks = routine + targeted
        if not picks:
            continue
        analyst = owner.get(agent_id)
        if analyst is None and load:
            analyst = min(load, key=lambda person_id: (load[person_id], person_id))
        if analyst is not None and analyst in load:
            load[analyst] += len(picks)
        created += [
            Sample(
                program=program,
                interaction_id=pick.interaction_id,
                agent_id=pick.agent_id,
                analyst_id=analyst,
                week_start=week_start,
                reason=pick.reason,
            )
            for pick in picks
        ]
    Sample.objects.bulk_create(created, batch_size=1000)
    event_record(
        verb="qa.samples_filled",
        actor=by,
        program=program,
        params={"week_start": week_start.isoformat(), "samples": len(created)},
    )
    return created
