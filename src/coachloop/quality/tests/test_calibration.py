"""Calibration: blind sessions, the report's statistics, and the flags across sessions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from coachloop.core.personas import World
from coachloop.org import services as org
from coachloop.org.models import Person, Role
from coachloop.quality import selectors, services
from coachloop.quality.agreement import krippendorff_alpha
from coachloop.quality.calibration import (
    ambiguous_criteria,
    calibration_report,
    drifting_evaluators,
)
from coachloop.quality.models import Calibration, Scorecard
from coachloop.quality.tests.factories import handled_contact, small_scorecard

pytestmark = pytest.mark.django_db

GOOD = {"greets": "yes", "verifies": "yes", "empathy": "5", "accuracy": "4"}


@dataclass
class Session:
    calibration: Calibration
    scorecard: Scorecard
    second: Person


def second_analyst(world: World) -> Person:
    person = Person.objects.filter(external_id="Q2").first()
    if person is None:
        person = org.person_create(external_id="Q2", name="Quentin Second", by=None)
        org.person_user_create(person=person, username="q2", by=None)
        person.refresh_from_db()
        org.role_grant(person=person, role=Role.QA, program=world.care, by=None)
    return person


def session(world: World, units: int = 4, *, reference: bool = False) -> Session:
    scorecard = Scorecard.objects.filter(key="small").first() or small_scorecard()
    second = second_analyst(world)
    contacts = [handled_contact(world) for _ in range(units)]
    calibration = services.calibration_create(
        program=world.care,
        name="Week 46",
        interactions=contacts,
        evaluators=[world.qa, second, world.lead],
        reference_evaluator=world.manager if reference else None,
        scorecard=scorecard,
        by=world.user(world.qa),
    )
    return Session(calibration, scorecard, second)


def evaluate(
    world: World, calibration: Calibration, person: Person, unit: int, answers: dict[str, str]
) -> None:
    interaction = list(calibration.interactions.order_by("pk"))[unit]
    by = world.user(person)
    draft = services.evaluation_start(interaction=interaction, by=by, calibration=calibration)
    services.evaluation_submit(evaluation=draft, by=by, answers=answers)


def test_others_answers_stay_hidden_until_the_evaluator_submits_their_own(world: World) -> None:
    s = session(world)
    evaluate(world, s.calibration, world.qa, 0, GOOD)
    second_user = world.user(s.second)
    first_unit = s.calibration.interactions.order_by("pk").first()
    assert first_unit is not None
    visible = selectors.evaluations_visible(user=second_user).filter(calibration=s.calibration)
    assert not visible.exists()
    draft = services.evaluation_start(
        interaction=first_unit, by=second_user, calibration=s.calibration
    )
    assert list(
        selectors.evaluations_visible(user=second_user).filter(calibration=s.calibration)
    ) == [draft]
    services.evaluation_submit(evaluation=draft, by=second_user, answers={**GOOD, "greets": "no"})
    seen = selectors.evaluations_visible(user=second_user).filter(calibration=s.calibration)
    assert {e.evaluator_id for e in seen} == {world.qa.pk, s.second.pk}


def test_leads_and_agents_never_see_calibration_answers_of_others(world: World) -> None:
    s = session(world)
    evaluate(world, s.calibration, world.qa, 0, GOOD)
    for person in (world.agent, world.other_lead):
        assert (
            not selectors.evaluations_visible(user=world.user(person))
            .filter(calibration=s.calibration)
            .exists()
        )


def test_calibration_evaluations_do_not_count_in_the_agents_qa_score(world: World) -> None:
    s = session(world)
    evaluate(world, s.calibration, world.qa, 0, GOOD)
    from coachloop.quality.models import Evaluation

    assert not Evaluation.objects.counted().exists()


def test_the_report_is_krippendorffs_alpha_of_the_submitted_answers(world: World) -> None:
    s = session(world)
    greets = [["yes", "no", "yes", "no"], ["yes", "no", "no", "no"], ["yes", "yes", "yes", "no"]]
    people = [world.qa, s.second, world.lead]
    for rater, person in enumerate(people):
        for unit in range(4):
            evaluate(world, s.calibration, person, unit, {**GOOD, "greets": greets[rater][unit]})
    report = calibration_report(s.calibration)
    expected = krippendorff_alpha(
        [[1.0 if a == "yes" else 0.0 for a in row] for row in greets], "nominal"
    )
    row = next(r for r in report["per_criterion"] if r["criterion"] == "greets")
    assert row["level"] == "nominal"
    assert row["alpha"] == pytest.approx(expected.alpha, abs=1e-4)
    assert row["alpha_interval"][0] <= row["alpha"] <= row["alpha_interval"][1]
    assert (report["n_units"], report["n_raters"], report["level"]) == (4, 3, "interval")
    # Everyone answered "yes" on verifies: alpha is undefined, and the report says why.
    verifies = next(r for r in report["per_criterion"] if r["criterion"] == "verifies")
    assert verifies["alpha"] is None and "same value" in verifies["reason"]
    biases = {r["evaluator"]: r for r in report["evaluators"]}
    # The lead said yes most often, so they score above the others' consensus.
    assert biases[world.lead.pk]["bias"] > 0 > biases[s.second.pk]["bias"]
    assert {r["against"] for r in report["evaluators"]} == {"consensus"}


def test_with_a_reference_evaluator_bias_is_measured_against_the_reference(world: World) -> None:
    s = session(world, units=2, reference=True)
    for unit in range(2):
        evaluate(world, s.calibration, world.manager, unit, GOOD)
        evaluate(world, s.calibration, world.qa, unit, {**GOOD, "empathy": "3"})
    report = calibration_report(s.calibration)
    qa = next(r for r in report["evaluators"] if r["evaluator"] == world.qa.pk)
    # Empathy 3 instead of 5 loses 1 of weight 2 out of 9: 11.1 points below the reference.
    assert qa["against"] == "reference" and qa["bias"] == pytest.approx(-100 / 9, abs=1e-3)
    assert world.manager.pk not in {r["evaluator"] for r in report["evaluators"]}


def test_a_session_nobody_submitted_has_no_alpha_and_says_why(world: World) -> None:
    report = calibration_report(session(world).calibration)
    assert report["alpha"] is None and report["reason"]


def test_a_criterion_evaluators_keep_disagreeing_on_is_flagged_as_ambiguous(world: World) -> None:
    for _ in range(2):
        s = session(world, units=3)
        for unit in range(3):
            evaluate(
                world,
                s.calibration,
                world.qa,
                unit,
                {**GOOD, "greets": "yes" if unit % 2 else "no"},
            )
            evaluate(
                world,
                s.calibration,
                s.second,
                unit,
                {**GOOD, "greets": "no" if unit % 2 else "yes"},
            )
    flagged = {row["criterion"]: row for row in ambiguous_criteria(world.care)}
    assert set(flagged) == {"greets"}
    assert flagged["greets"]["sessions"] == 2 and flagged["greets"]["n_units"] == 6


def test_an_evaluator_who_keeps_scoring_higher_than_the_others_is_flagged_as_drifting(
    world: World,
) -> None:
    for _ in range(3):
        s = session(world, units=2)
        for unit in range(2):
            evaluate(world, s.calibration, world.qa, unit, GOOD)
            evaluate(world, s.calibration, s.second, unit, {**GOOD, "empathy": "1"})
            # 8/9 sits on the mean of the other two (100 and 7/9): the lead has no bias.
            evaluate(world, s.calibration, world.lead, unit, {**GOOD, "empathy": "3"})
    flagged = {row["evaluator"]: row for row in drifting_evaluators(world.care)}
    assert world.qa.pk in flagged and flagged[world.qa.pk]["mean_bias"] > 5
    assert world.lead.pk not in flagged


def test_a_lead_who_takes_part_sees_that_session_and_no_other_lead_does(world: World) -> None:
    s = session(world)
    assert list(Calibration.objects.visible_to(world.user(world.lead))) == [s.calibration]
    assert not Calibration.objects.visible_to(world.user(world.other_lead)).exists()
