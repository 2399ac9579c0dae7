"""The QA pages through the test client: who may open what (404 out of scope, 403 in scope but
not allowed, and nothing changes on a denial), the evaluation form without JS and through
htmx, errors shown beside their field, acknowledgement, disputes, scorecards, and blind
calibration."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coachloop.core.models import Event
from coachloop.core.personas import World
from coachloop.org.models import Person
from coachloop.quality import selectors, services
from coachloop.quality.models import (
    Calibration,
    Comment,
    Dispute,
    DisputeOutcome,
    Evaluation,
    EvaluationStatus,
    QaPolicy,
    Sample,
    SampleReason,
    Scorecard,
)
from coachloop.quality.tests.factories import (
    DAY,
    answers_for,
    handled_contact,
    small_document,
    small_scorecard,
    submitted_evaluation,
)

pytestmark = pytest.mark.django_db

Clients = Callable[[Person], Client]


def text(response: Any) -> str:
    return str(response.content.decode())


def draft_of(world: World, **options: Any) -> Evaluation:
    scorecard = options.pop("scorecard", None) or small_scorecard()
    return services.evaluation_start(
        interaction=handled_contact(world, **options), by=world.user(world.qa), scorecard=scorecard
    )


def edit_url(evaluation: Evaluation) -> str:
    return f"/qa/evaluations/{evaluation.pk}/edit"


# --- the queue ---------------------------------------------------------------------------------


def test_the_qa_home_is_for_qa_staff_and_says_how_the_queue_fills(
    world: World, client_for: Clients
) -> None:
    response = client_for(world.qa).get("/qa/")
    assert response.status_code == 200
    assert "No contacts waiting in your queue" in text(response)
    assert "qa_sample" in text(response)
    for persona in (world.agent, world.lead):
        assert client_for(persona).get("/qa/").status_code == 403


def test_the_qa_home_lists_the_analysts_samples_drafts_and_open_disputes(
    world: World, client_for: Clients
) -> None:
    small_scorecard()
    sampled = handled_contact(world, transcript=False)
    Sample.objects.create(
        program=world.care,
        interaction=sampled,
        agent=world.agent,
        analyst=world.qa,
        week_start=DAY,
        reason=SampleReason.LOW_CSAT,
    )
    draft = services.evaluation_start(interaction=handled_contact(world), by=world.user(world.qa))
    disputed = submitted_evaluation(world, scorecard=Scorecard.objects.get(key="small"))
    services.dispute_open(
        evaluation=disputed, by=world.user(world.agent), reason="", criteria={"greets": "I did"}
    )
    html = text(client_for(world.qa).get("/qa/"))
    assert sampled.external_id in html and "Low CSAT" in html
    assert f"/qa/evaluate/{sampled.pk}" in html
    assert edit_url(draft) in html
    assert f"/qa/evaluations/{disputed.pk}/dispute" in html


def test_qa_fills_a_weeks_queue_from_the_home_page(world: World, client_for: Clients) -> None:
    handled_contact(world, transcript=False)
    response = client_for(world.qa).post("/qa/", {"program": world.care.pk, "week": "2026-11-11"})
    assert response.status_code == 302
    assert Sample.objects.filter(program=world.care, week_start=dt.date(2026, 11, 9)).exists()


# --- starting and filling in an evaluation -----------------------------------------------------


def test_qa_starts_an_evaluation_from_a_contact_and_lands_on_the_form(
    world: World, client_for: Clients
) -> None:
    small_scorecard()
    contact = handled_contact(world)
    client = client_for(world.qa)
    assert client.get(f"/qa/evaluate/{contact.pk}").status_code == 200
    response = client.post(f"/qa/evaluate/{contact.pk}")
    evaluation = Evaluation.objects.get(interaction=contact)
    assert response["Location"] == edit_url(evaluation)
    html = text(client.get(edit_url(evaluation)))
    assert "Verifies identity" in html and "You did not check who I am." in html
    assert "Keyboard shortcuts" in html and "qa-evaluate.js" in html


def test_a_lead_may_not_start_an_evaluation_and_nothing_is_created(
    world: World, client_for: Clients, counts: Callable[[], dict[str, int]]
) -> None:
    small_scorecard()
    contact = handled_contact(world)
    lead, outsider = client_for(world.lead), client_for(world.chat_lead)
    before = counts()
    assert lead.post(f"/qa/evaluate/{contact.pk}").status_code == 403
    assert outsider.post(f"/qa/evaluate/{contact.pk}").status_code == 404
    assert counts() == before


def test_a_contact_without_a_scorecard_shows_the_reason_instead_of_failing(
    world: World, client_for: Clients
) -> None:
    contact = handled_contact(world)
    response = client_for(world.qa).post(f"/qa/evaluate/{contact.pk}")
    assert response.status_code == 200
    assert "No scorecard applies to this contact" in text(response)
    assert not Evaluation.objects.exists()


def test_only_the_evaluator_opens_a_draft_and_agents_do_not_see_it(
    world: World, client_for: Clients
) -> None:
    draft = draft_of(world)
    assert client_for(world.qa).get(edit_url(draft)).status_code == 200
    assert client_for(world.manager).get(edit_url(draft)).status_code == 403
    assert client_for(world.agent).get(edit_url(draft)).status_code == 404
    assert client_for(world.agent).get(f"/qa/evaluations/{draft.pk}").status_code == 404


def test_saving_without_javascript_recomputes_the_score(world: World, client_for: Clients) -> None:
    draft = draft_of(world)
    client = client_for(world.qa)
    response = client.post(
        edit_url(draft),
        {"action": "save", "answer-greets": "no", "answer-empathy": "5", "feedback": "Good"},
    )
    assert response["Location"] == edit_url(draft)
    draft.refresh_from_db()
    assert draft.score == pytest.approx(100 * 2 / 3, abs=1e-3)
    assert draft.feedback == "Good"
    html = text(client.get(edit_url(draft)))
    assert "66.7" in html and "2 of 4 criteria answered" in html


def test_the_htmx_autosave_answers_the_live_score_with_critical_failures(
    world: World, client_for: Clients
) -> None:
    draft = draft_of(world)
    response = client_for(world.qa).post(
        edit_url(draft),
        {"action": "autosave", "answer-greets": "yes", "answer-verifies": "no"},
        HTTP_HX_REQUEST="true",
    )
    html = text(response)
    assert response.status_code == 200 and 'id="live-score"' in html
    assert "<html" not in html
    assert "Critical failure" in html and "Verifies identity" in html
    assert "Not counted until submitted" in html
    draft.refresh_from_db()
    assert draft.score == 0.0 and draft.critical_failed


def test_an_answer_that_does_not_fit_is_shown_beside_its_criterion(
    world: World, client_for: Clients
) -> None:
    draft = draft_of(world)
    response = client_for(world.qa).post(
        edit_url(draft), {"action": "save", "answer-accuracy": "9", "answer-greets": "yes"}
    )
    html = text(response)
    assert response.status_code == 200
    assert "points from 0 to 4, or na" in html
    assert 'id="crit-3"' in html and "criterion has-error" in html
    assert not draft.answers.exists()


def test_submitting_with_missing_answers_names_each_one_and_keeps_the_draft(
    world: World, client_for: Clients
) -> None:
    draft = draft_of(world)
    response = client_for(world.qa).post(
        edit_url(draft), {"action": "submit", "answer-greets": "yes"}
    )
    html = text(response)
    assert response.status_code == 200
    assert "3 criteria have no answer yet" in html
    for question in ("Verifies identity", "Shows empathy", "Accurate"):
        assert f"{question}</a>: Needed:" in html
    draft.refresh_from_db()
    assert draft.status == EvaluationStatus.DRAFT
    assert selectors.evaluation_answers(draft) == {"greets": "yes"}


def test_a_comment_pinned_to_a_turn_is_saved_and_submitting_opens_the_evaluation(
    world: World, client_for: Clients
) -> None:
    draft = draft_of(world)
    scorecard = draft.scorecard
    posted = {f"answer-{key}": value for key, value in answers_for(scorecard).items()}
    response = client_for(world.qa).post(
        edit_url(draft),
        {
            **posted,
            "action": "submit",
            "comment-verifies": "Checked identity late",
            "turn-verifies": "3",
            "comment": "Calm call",
            "offset": "0:45",
        },
    )
    assert response["Location"] == f"/qa/evaluations/{draft.pk}"
    draft.refresh_from_db()
    assert draft.status == EvaluationStatus.SUBMITTED and draft.score == 100.0
    pinned = Comment.objects.get(evaluation=draft, criterion__key="verifies")
    assert (pinned.turn, pinned.text) == (3, "Checked identity late")
    assert Comment.objects.get(evaluation=draft, criterion=None).offset_s == 45.0


def test_a_bad_offset_is_named_beside_its_comment_box(world: World, client_for: Clients) -> None:
    draft = draft_of(world)
    response = client_for(world.qa).post(
        edit_url(draft),
        {"action": "save", "comment-greets": "Late", "offset-greets": "soon"},
    )
    html = text(response)
    assert response.status_code == 200
    assert "&#x27;soon&#x27; is not a recording offset" in html
    assert "Late</textarea>" in html
    assert not Comment.objects.exists()


def test_adding_a_comment_through_htmx_answers_the_criterions_comment_box(
    world: World, client_for: Clients
) -> None:
    draft = draft_of(world)
    response = client_for(world.qa).post(
        edit_url(draft),
        {"action": "comment:greets", "comment-greets": "Warm greeting", "turn-greets": "0"},
        HTTP_HX_REQUEST="true",
    )
    html = text(response)
    assert html.lstrip().startswith('<div class="comment-box" id="comments-0">')
    assert "Warm greeting" in html and "turn 1" in html
    assert Comment.objects.get().turn == 0


def test_discarding_a_draft_deletes_it(world: World, client_for: Clients) -> None:
    draft = draft_of(world)
    response = client_for(world.qa).post(edit_url(draft), {"action": "discard"})
    assert response["Location"] == "/qa/"
    assert not Evaluation.objects.filter(pk=draft.pk).exists()


# --- the evaluation page -----------------------------------------------------------------------


def submitted_with_pin(world: World) -> Evaluation:
    draft = draft_of(world)
    by = world.user(world.qa)
    services.evaluation_comment_add(
        evaluation=draft, by=by, text="Identity check came late", criterion_key="verifies", turn=3
    )
    return services.evaluation_submit(
        evaluation=draft, by=by, answers={**answers_for(draft.scorecard), "verifies": "no"}
    )


def test_the_agent_sees_score_critical_failure_and_the_comment_at_its_turn(
    world: World, client_for: Clients
) -> None:
    evaluation = submitted_with_pin(world)
    response = client_for(world.agent).get(f"/qa/evaluations/{evaluation.pk}")
    html = text(response)
    assert response.status_code == 200
    assert "Critical failure" in html
    turn = html.split('id="turn-3"')[1].split("</li>")[0]
    assert "You did not check who I am." in turn and "Identity check came late" in turn
    assert "Acknowledge" in html and "due by 2026-11-27" in html


@pytest.mark.parametrize("persona", ["agent2", "care_b_agent", "chat_lead", "other_lead"])
def test_outsiders_cannot_open_an_evaluation(
    world: World, client_for: Clients, persona: str
) -> None:
    evaluation = submitted_evaluation(world, scorecard=small_scorecard())
    response = client_for(getattr(world, persona)).get(f"/qa/evaluations/{evaluation.pk}")
    assert response.status_code == 404


def test_the_agent_acknowledges_with_a_comment_once(world: World, client_for: Clients) -> None:
    evaluation = submitted_with_pin(world)
    client = client_for(world.agent)
    url = f"/qa/evaluations/{evaluation.pk}"
    response = client.post(url, {"action": "acknowledge", "comment": "Will verify first"})
    assert response["Location"] == url
    evaluation.refresh_from_db()
    assert evaluation.acknowledged_at is not None
    assert evaluation.acknowledgement_comment == "Will verify first"
    html = text(client.get(url))
    assert "Acknowledged on" in html and "Will verify first" in html
    again = client.post(url, {"action": "acknowledge"})
    assert again.status_code == 200


def test_a_lead_cannot_acknowledge_for_the_agent(
    world: World, client_for: Clients, counts: Callable[[], dict[str, int]]
) -> None:
    evaluation = submitted_with_pin(world)
    lead = client_for(world.lead)
    before = counts()
    response = lead.post(f"/qa/evaluations/{evaluation.pk}", {"action": "acknowledge"})
    assert response.status_code == 403
    assert counts() == before
    evaluation.refresh_from_db()
    assert evaluation.acknowledged_at is None


def test_a_dispute_without_criteria_is_shown_as_an_error(world: World, client_for: Clients) -> None:
    evaluation = submitted_with_pin(world)
    response = client_for(world.agent).post(
        f"/qa/evaluations/{evaluation.pk}", {"action": "dispute", "reason": "Unfair"}
    )
    assert response.status_code == 200
    assert "at least one disputed criterion" in text(response)
    assert not Dispute.objects.exists()


def test_the_dispute_round_trip_shows_previous_and_new_answers(
    world: World, client_for: Clients
) -> None:
    evaluation = submitted_with_pin(world)
    page = f"/qa/evaluations/{evaluation.pk}"
    opened = client_for(world.lead).post(
        page,
        {"action": "dispute", "dispute": ["verifies"], "reason-verifies": "She did verify"},
    )
    assert opened["Location"] == page
    resolve = f"/qa/evaluations/{evaluation.pk}/dispute"
    assert client_for(world.agent).get(resolve).status_code == 403
    qa = client_for(world.qa)
    assert "She did verify" in text(qa.get(resolve))
    missing = qa.post(resolve, {"note": "x"})
    assert missing.status_code == 200 and "a decision" in text(missing)
    done = qa.post(resolve, {"decision-verifies": "yes", "note": "Verified at 0:30"})
    assert done["Location"] == page
    evaluation.refresh_from_db()
    assert evaluation.score == 100.0 and not evaluation.critical_failed
    item = Dispute.objects.get().items.get()
    assert (item.outcome, item.previous_value, item.new_value) == (
        DisputeOutcome.CHANGED,
        "no",
        "yes",
    )
    html = text(client_for(world.agent).get(page))
    assert "Changed: No → Yes" in html and "Verified at 0:30" in html


# --- an agent's evaluations --------------------------------------------------------------------


def test_the_agents_list_shows_the_qa_score_with_its_n(world: World, client_for: Clients) -> None:
    scorecard = small_scorecard()
    submitted_evaluation(world, scorecard=scorecard)
    submitted_evaluation(
        world, scorecard=scorecard, answers={**answers_for(scorecard), "greets": "no"}
    )
    url = f"/qa/agents/{world.agent.pk}/evaluations"
    html = text(client_for(world.agent).get(url))
    assert "My evaluations" in html
    assert "94.4" in html and "n = 2" in html and "90% interval" in html
    assert client_for(world.lead).get(url).status_code == 200
    assert client_for(world.agent2).get(url).status_code == 404
    assert client_for(world.chat_lead).get(url).status_code == 404


def test_the_agents_list_reads_a_fixed_number_of_queries(world: World, client_for: Clients) -> None:
    scorecard = small_scorecard()
    client = client_for(world.qa)
    url = f"/qa/agents/{world.agent.pk}/evaluations"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    submitted_evaluation(world, scorecard=scorecard)
    few = queries()
    for _ in range(3):
        submitted_evaluation(world, scorecard=scorecard)
    assert queries() == few


# --- scorecards --------------------------------------------------------------------------------


def upload(document: Any, name: str = "card.json") -> SimpleUploadedFile:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return SimpleUploadedFile(name, body, content_type="application/json")


def test_scorecards_import_export_and_detail(world: World, client_for: Clients) -> None:
    client = client_for(world.qa)
    document = {**small_document(key="care-card"), "programs": ["care"]}
    response = client.post("/qa/scorecards", {"file": upload(document)})
    scorecard = Scorecard.objects.get(key="care-card")
    assert response["Location"] == f"/qa/scorecards/{scorecard.pk}"
    html = text(client.get(f"/qa/scorecards/{scorecard.pk}"))
    assert "Verifies identity" in html and "critical" in html and "Verification" in html
    exported = client.get(f"/qa/scorecards/{scorecard.pk}.json")
    assert exported["Content-Disposition"] == 'attachment; filename="care-card-v1.json"'
    assert json.loads(exported.content) == selectors.scorecard_document(scorecard)
    assert "Small" in text(client_for(world.agent).get("/qa/scorecards"))


def test_an_import_names_each_problem_by_its_json_path(world: World, client_for: Clients) -> None:
    document = {**small_document(key="care-card"), "programs": ["care"]}
    document["sections"][0]["criteria"][1]["type"] = "boolean"
    response = client_for(world.qa).post("/qa/scorecards", {"file": upload(document)})
    html = text(response)
    assert response.status_code == 200
    assert "sections[0].criteria[1].type" in html and "yes_no, scale_1_5 or points" in html
    broken = client_for(world.qa).post("/qa/scorecards", {"file": upload(b'{"key": ')})
    assert "not valid JSON" in text(broken)
    assert not Scorecard.objects.exists()


def test_a_qa_analyst_cannot_import_a_scorecard_for_every_program(
    world: World, client_for: Clients
) -> None:
    response = client_for(world.qa).post("/qa/scorecards", {"file": upload(small_document())})
    assert response.status_code == 200 and "Only org admins" in text(response)
    assert client_for(world.agent).post("/qa/scorecards").status_code == 403
    assert not Scorecard.objects.exists()


# --- calibration -------------------------------------------------------------------------------


def calibration_of(world: World) -> Calibration:
    small_scorecard()
    return services.calibration_create(
        program=world.care,
        name="November",
        interactions=[handled_contact(world), handled_contact(world, agent=world.agent2)],
        evaluators=[world.qa, world.manager],
        by=world.user(world.qa),
    )


def test_a_calibration_session_is_created_from_the_form(world: World, client_for: Clients) -> None:
    small_scorecard()
    contacts = [handled_contact(world), handled_contact(world, transcript=False)]
    client = client_for(world.qa)
    assert client.get("/qa/calibrations/new").status_code == 200
    response = client.post(
        "/qa/calibrations/new",
        {
            "program": world.care.pk,
            "name": "Week 46",
            "contacts": f"{contacts[0].pk}, {contacts[1].external_id}",
            "evaluators": [world.qa.pk, world.manager.pk],
        },
    )
    calibration = Calibration.objects.get()
    assert response["Location"] == f"/qa/calibrations/{calibration.pk}"
    assert set(calibration.interactions.all()) == set(contacts)


def test_the_calibration_form_names_unknown_contacts_and_too_few_evaluators(
    world: World, client_for: Clients
) -> None:
    small_scorecard()
    contact = handled_contact(world)
    response = client_for(world.qa).post(
        "/qa/calibrations/new",
        {
            "program": world.care.pk,
            "name": "x",
            "contacts": f"{contact.pk} nope",
            "evaluators": [world.qa.pk, world.manager.pk],
        },
    )
    assert response.status_code == 200 and "you can see: nope" in text(response)
    response = client_for(world.qa).post(
        "/qa/calibrations/new",
        {
            "program": world.care.pk,
            "name": "x",
            "contacts": str(contact.pk),
            "evaluators": [world.qa.pk],
        },
    )
    assert "at least two evaluators" in text(response)
    assert not Calibration.objects.exists()


def test_calibration_pages_are_blind_until_the_participant_submits(
    world: World, client_for: Clients
) -> None:
    calibration = calibration_of(world)
    unit = calibration.interactions.order_by("pk").first()
    assert unit is not None
    manager = world.user(world.manager)
    theirs = services.evaluation_start(interaction=unit, by=manager, calibration=calibration)
    scorecard = calibration.scorecard
    services.evaluation_submit(
        evaluation=theirs, by=manager, answers={**answers_for(scorecard), "greets": "no"}
    )
    qa = client_for(world.qa)
    page = f"/qa/calibrations/{calibration.pk}"
    html = text(qa.get(page))
    assert "88.9" not in html and "hidden until you submit" in html
    assert qa.get(f"/qa/evaluations/{theirs.pk}").status_code == 404
    report = qa.get(f"{page}/report")
    assert report.status_code == 403 and "0 of 2 so far" in text(report)

    started = qa.post(page, {"action": "evaluate", "interaction": unit.pk})
    mine = Evaluation.objects.get(calibration=calibration, evaluator=world.qa)
    assert started["Location"] == edit_url(mine)
    services.evaluation_submit(
        evaluation=mine, by=world.user(world.qa), answers=answers_for(scorecard)
    )
    html = text(qa.get(page))
    assert "88.9" in html
    assert qa.get(f"{page}/report").status_code == 403

    closed = qa.post(page, {"action": "close"})
    assert closed["Location"] == page
    html = text(qa.get(f"{page}/report"))
    assert "Krippendorff" in html and "n = 1 contacts, 2 evaluators" in html
    assert "Evaluator bias" in html and "Maya Manager" in html


def test_agents_and_leads_do_not_open_calibration_pages(world: World, client_for: Clients) -> None:
    calibration = calibration_of(world)
    for persona in (world.agent, world.lead):
        client = client_for(persona)
        assert client.get("/qa/calibrations").status_code == 403
        assert client.get(f"/qa/calibrations/{calibration.pk}").status_code == 404
    assert client_for(world.manager).get("/qa/calibrations").status_code == 200


# --- links from other pages --------------------------------------------------------------------


def test_the_navigation_links_qa_staff_and_agents_to_their_qa_pages(
    world: World, client_for: Clients
) -> None:
    assert 'href="/qa/"' in text(client_for(world.qa).get("/qa/scorecards"))
    agent_html = text(client_for(world.agent).get(f"/agents/{world.agent.pk}/"))
    assert f'href="/qa/agents/{world.agent.pk}/evaluations"' in agent_html
    assert 'href="/qa/"' not in agent_html


def test_the_contact_page_shows_its_transcript_evaluations_and_evaluate_for_qa(
    world: World, client_for: Clients
) -> None:
    evaluation = submitted_with_pin(world)
    url = f"/interactions/{evaluation.interaction_id}/"
    html = text(client_for(world.qa).get(url))
    assert "My bill is twice what it should be." in html and "0:04" in html
    assert f"/qa/evaluations/{evaluation.pk}" in html
    assert f'action="/qa/evaluate/{evaluation.interaction_id}"' in html
    lead_html = text(client_for(world.lead).get(url))
    assert f"/qa/evaluations/{evaluation.pk}" in lead_html
    assert "/qa/evaluate/" not in lead_html


def test_a_manager_sets_the_programs_qa_policy_and_a_lead_cannot_find_the_page(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    url = reverse("quality:policy", args=[world.care.pk])
    manager = client_for(world.manager)
    assert manager.get(url).status_code == 200
    response = manager.post(
        url,
        {
            "per_agent_per_week": 4,
            "targeted_per_agent_per_week": 0,
            "target_low_csat": "on",
            "acknowledge_within_days": 3,
        },
    )
    assert response.status_code == 302
    policy = QaPolicy.objects.get(program=world.care)
    assert (
        policy.per_agent_per_week,
        policy.target_unresolved,
        policy.acknowledge_within_days,
    ) == (4, False, 3)
    assert Event.objects.filter(verb="qa_policy.set", program=world.care).exists()
    assert client_for(world.lead).get(url).status_code == 404
    bad = manager.post(
        url,
        {"per_agent_per_week": -1, "targeted_per_agent_per_week": 0, "acknowledge_within_days": 3},
    )
    assert bad.status_code == 200 and "per_agent_per_week" in bad.context["form"].errors


def test_the_agents_evaluations_show_the_criterion_they_fail_more_than_peers(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    scorecard = small_scorecard()
    day = dt.date(2026, 11, 12)
    for agent, failed in ((world.agent, 6), (world.agent2, 0), (world.care_b_agent, 0)):
        for index in range(6):
            submitted_evaluation(
                world,
                scorecard=scorecard,
                interaction=handled_contact(world, agent=agent, day=day, transcript=False),
                answers={**answers_for(scorecard), "verifies": "no" if index < failed else "yes"},
            )
    lead_page = client_for(world.lead).get(
        reverse("quality:agent-evaluations", args=[world.agent.pk])
    )
    weak = lead_page.context["weak"]
    assert weak["criteria"][0].key == "verifies" and weak["criteria"][0].flagged
    assert "fails more than peers" in lead_page.content.decode()
    # The agent's own page hides peer figures: their program has fewer than 5 agents.
    own = client_for(world.agent).get(reverse("quality:agent-evaluations", args=[world.agent.pk]))
    assert not own.context["weak"]["peers_visible"]
    assert "Peers failed" not in own.content.decode()


def test_a_teams_qa_page_lists_each_agents_qa_score_and_the_teams_weakest_criteria(
    world: World, client_for: Callable[[Person], Client], django_capture_on_commit_callbacks: Any
) -> None:
    scorecard = small_scorecard()
    day = dt.date(2026, 11, 12)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            submitted_evaluation(
                world,
                scorecard=scorecard,
                interaction=handled_contact(world, day=day, transcript=False),
                answers={**answers_for(scorecard), "greets": "no"},
            )
    response = client_for(world.lead).get(reverse("quality:team", args=[world.care_a.pk]))
    assert response.status_code == 200
    cells = {agent.pk: cell for agent, cell in response.context["rows"]}
    assert cells[world.agent.pk].n == 3 and cells[world.agent2.pk].n == 0
    assert response.context["weak"]["criteria"][0].key == "greets"
    assert (
        client_for(world.other_lead)
        .get(reverse("quality:team", args=[world.care_a.pk]))
        .status_code
        == 404
    )


def test_the_calibration_list_flags_evaluators_who_keep_leaning_one_way(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    scorecard = small_scorecard()
    good = answers_for(scorecard)
    for _ in range(2):
        contacts = [handled_contact(world, transcript=False) for _ in range(2)]
        session = services.calibration_create(
            program=world.care,
            name="Weekly",
            interactions=contacts,
            evaluators=[world.qa, world.manager, world.lead],
            scorecard=scorecard,
            by=None,
        )
        for contact in contacts:
            for person, answers in (
                (world.qa, good),
                (world.manager, {**good, "empathy": "1"}),
                (world.lead, {**good, "empathy": "3"}),
            ):
                by = world.user(person)
                draft = services.evaluation_start(interaction=contact, by=by, calibration=session)
                services.evaluation_submit(evaluation=draft, by=by, answers=answers)
    page = client_for(world.manager).get(reverse("quality:calibrations"))
    # The analyst leans lenient and the manager strict, each by about 17 points; the lead sits
    # on the others' mean.
    leaning = {row["name"]: row["mean_bias"] for row in page.context["flags"][0]["drifting"]}
    assert set(leaning) == {world.qa.name, world.manager.name}
    assert leaning[world.qa.name] > 5 > -5 > leaning[world.manager.name]
    assert "Evaluators drifting" in page.content.decode()
