"""The files the simulator writes follow CONTRACTS.md "Canonical files" exactly."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime

from coachloop.simulator.tests.conftest import Run

ROSTER = [
    "external_id", "name", "email", "program", "site", "team", "role", "team_since",
    "hire_date", "termination_date", "termination_reason", "external_id:acd", "external_id:wfm",
]  # fmt: skip
INTERACTIONS = [
    "external_id", "channel", "program", "queue", "call_type", "agent", "customer_ref",
    "started_at", "answered", "wait_s", "talk_s", "hold_s", "acw_s", "transferred", "escalated",
    "resolved", "csat", "csat_scale", "nps", "recording_url",
]  # fmt: skip
AGENT_DAYS = ["agent", "date", "scheduled_s", "logged_in_s", "productive_s", "adherent_s", "absent"]
EVALUATIONS = [
    "evaluation_id", "interaction_external_id", "program", "scorecard", "scorecard_version",
    "evaluator", "evaluated_at", "criterion", "answer", "comment", "calibration_id",
]  # fmt: skip
SESSIONS = [
    "session_id", "agent", "lead", "started_at", "type", "focus_skill", "focus_metric", "notes",
]  # fmt: skip
CSAT_RANGES = {"1-5": (1, 5), "1-10": (1, 10), "0-10": (0, 10), "percent": (0, 100)}
BOOLEANS = {"true", "false"}


def parse_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0, text
    assert text.endswith("+00:00"), text
    return moment


def agents_of(run: Run) -> set[str]:
    return {r["external_id"] for r in run.roster if r["role"] == "agent"}


def test_every_file_is_written_with_exactly_the_canonical_header(sim: Run) -> None:
    assert sorted(p.name for p in sim.out.iterdir()) == sorted(
        [
            "roster.csv",
            "interactions.csv",
            "agent_days.csv",
            "transcripts.jsonl",
            "scorecard.json",
            "evaluations.csv",
            "sessions.csv",
            "truth.json",
        ]
    )
    assert sim.header("roster.csv") == ROSTER
    assert sim.header("interactions.csv") == INTERACTIONS
    assert sim.header("agent_days.csv") == AGENT_DAYS
    assert sim.header("evaluations.csv") == EVALUATIONS
    assert sim.header("sessions.csv") == SESSIONS
    raw = (sim.out / "interactions.csv").read_bytes()
    assert b"\r\n" not in raw and raw.endswith(b"\n")


def test_json_files_have_exactly_the_contract_keys(sim: Run) -> None:
    card = sim.scorecard
    assert list(card) == [
        "key", "name", "version", "critical_scope", "programs", "channels", "call_types",
        "skills", "sections",
    ]  # fmt: skip
    assert card["critical_scope"] in {"evaluation", "section"}
    for skill in card["skills"]:
        assert list(skill) == ["key", "name", "kind", "call_type"]
    for section in card["sections"]:
        assert list(section) == ["key", "name", "criteria"]
        for criterion in section["criteria"]:
            assert list(criterion) == [
                "key", "question", "guidance", "type", "weight", "critical", "skills",
            ]  # fmt: skip
    assert sum(c["critical"] for s in card["sections"] for c in s["criteria"]) == 1
    truth = sim.truth
    assert list(truth) == [
        "seed", "start", "days", "skills", "agents", "coaching_effect", "program_problems",
        "attrition",
    ]  # fmt: skip
    assert (truth["seed"], truth["start"], truth["days"]) == (sim.args["seed"], "2026-01-05", 45)
    assert list(truth["coaching_effect"]) == ["unit", "value", "per_metric"]
    assert truth["coaching_effect"]["unit"] == "skill_sd"
    for agent in truth["agents"].values():
        assert list(agent) == ["weakest_skill", "skills"]
    for problem in truth["program_problems"]:
        assert {"program", "call_type", "metric", "effect"} <= set(problem)
    with (sim.out / "transcripts.jsonl").open(encoding="utf-8") as f:
        for line in f:
            document = json.loads(line)
            assert list(document) == ["external_id", "program", "turns"]
            for turn in document["turns"]:
                assert list(turn) == ["speaker", "offset_s", "text"]
                assert turn["speaker"] in {"agent", "customer", "system"}
                assert turn["offset_s"] >= 0


def test_every_interaction_row_is_valid_per_the_contract(sim: Run) -> None:
    roster_programs = {r["program"] for r in sim.roster}
    for r in sim.interactions:
        assert r["channel"] in {"voice", "chat", "email", "sms", "social"}
        assert r["program"] in roster_programs
        assert r["queue"] and r["call_type"]
        assert r["answered"] in BOOLEANS
        assert r["transferred"] in BOOLEANS and r["escalated"] in BOOLEANS
        assert r["resolved"] in BOOLEANS | {""}
        for column in ("wait_s", "talk_s", "hold_s", "acw_s"):
            assert 0 <= int(r[column]) <= 86400
        parse_utc(r["started_at"])
        if r["answered"] == "false":
            assert r["agent"] == ""
        else:
            assert r["agent"] != ""
        if r["csat"]:
            low, high = CSAT_RANGES[r["csat_scale"]]
            assert low <= int(r["csat"]) <= high
        else:
            assert r["csat_scale"] == ""
        if r["nps"]:
            assert 0 <= int(r["nps"]) <= 10
        assert r["recording_url"] == "" or (
            r["channel"] == "voice" and r["recording_url"].startswith("https://recordings.example/")
        )


def test_contacts_fall_inside_the_period_in_their_programs_local_days(sim: Run) -> None:
    first = min(parse_utc(r["started_at"]) for r in sim.interactions)
    last = max(parse_utc(r["started_at"]) for r in sim.interactions)
    assert first.date() >= date(2026, 1, 5)
    # New York's last local evening runs into the next UTC morning.
    assert last.date() <= date(2026, 2, 19)


def test_interaction_external_ids_are_unique_per_program(sim: Run) -> None:
    counts = Counter((r["program"], r["external_id"]) for r in sim.interactions)
    assert max(counts.values()) == 1


def test_abandoned_contacts_have_no_agent_a_wait_and_no_talk(sim: Run) -> None:
    abandoned = [r for r in sim.interactions if r["answered"] == "false"]
    assert abandoned
    for r in abandoned:
        assert r["agent"] == "" and int(r["wait_s"]) > 0 and r["talk_s"] == "0"
        assert r["channel"] != "email"
    share = len(abandoned) / len(sim.interactions)
    assert 0.01 < share < 0.1


def test_answered_voice_and_chat_contacts_mostly_wait_under_a_minute(sim: Run) -> None:
    waits = [
        int(r["wait_s"])
        for r in sim.interactions
        if r["answered"] == "true" and r["channel"] in {"voice", "chat"}
    ]
    assert sum(w <= 60 for w in waits) / len(waits) > 0.8


def test_care_gives_no_resolved_flag_and_the_other_programs_do(sim: Run) -> None:
    flags: dict[str, set[str]] = defaultdict(set)
    for r in sim.interactions:
        if r["answered"] == "true":
            flags[r["program"]].add(r["resolved"])
    assert flags["care"] == {""}
    assert flags["chat"] == {"true", "false"}
    assert flags["billing"] == {"true", "false"}


def test_programs_differ_in_channels_and_at_least_one_uses_another_csat_scale(sim: Run) -> None:
    channels: dict[str, set[str]] = defaultdict(set)
    scales = set()
    for r in sim.interactions:
        channels[r["program"]].add(r["channel"])
        scales.add(r["csat_scale"])
    assert channels == {"care": {"voice"}, "chat": {"chat"}, "billing": {"voice", "email"}}
    assert scales - {"", "1-5"}
    assert any(r["nps"] for r in sim.interactions)


def test_only_some_contacts_carry_a_customer_ref(sim: Run) -> None:
    share = sum(bool(r["customer_ref"]) for r in sim.interactions) / len(sim.interactions)
    assert 0.6 <= share <= 0.9


def test_every_person_named_in_any_file_is_in_the_roster(sim: Run) -> None:
    people = {r["external_id"] for r in sim.roster}
    agents = agents_of(sim)
    assert {r["agent"] for r in sim.interactions} - {""} <= agents
    assert {r["agent"] for r in sim.rows("agent_days.csv")} <= agents
    assert {r["agent"] for r in sim.rows("sessions.csv")} <= agents
    leads = {r["external_id"] for r in sim.roster if r["role"] == "lead"}
    assert {r["lead"] for r in sim.rows("sessions.csv")} <= leads
    assert {r["evaluator"] for r in sim.rows("evaluations.csv")} <= people
    handled = {r["external_id"] for r in sim.interactions if r["answered"] == "true"}
    assert {r["interaction_external_id"] for r in sim.rows("evaluations.csv")} <= handled


def test_roster_agents_carry_their_phone_and_wfm_ids(sim: Run) -> None:
    for r in sim.roster:
        if r["role"] == "agent":
            assert r["external_id:acd"] and r["external_id:wfm"]
            assert len({r["external_id"], r["external_id:acd"], r["external_id:wfm"]}) == 3
            assert r["team"] and r["team_since"] >= r["hire_date"]
        else:
            assert r["external_id:acd"] == r["external_id:wfm"] == ""
            assert (r["team"] != "") == (r["role"] == "lead")
    keys = Counter((r["external_id"], r["role"], r["program"], r["team"]) for r in sim.roster)
    assert max(keys.values()) == 1
    assert len({r["email"] for r in sim.roster}) == len(sim.roster)


def test_nobody_works_before_being_hired_or_after_leaving(simulated: Callable[..., Run]) -> None:
    sim = simulated(agents=120, days=30)
    hired = {r["external_id"]: r["hire_date"] for r in sim.roster if r["role"] == "agent"}
    left = {r["external_id"]: r["termination_date"] for r in sim.roster if r["termination_date"]}
    assert left, "the default run should have some attrition"
    assert all(
        r["termination_reason"] in {"resigned", "dismissed", "end_of_contract"}
        for r in sim.roster
        if r["termination_date"]
    )
    for r in sim.rows("agent_days.csv"):
        assert r["date"] >= hired[r["agent"]]
        assert r["agent"] not in left or r["date"] < left[r["agent"]]
    for r in sim.interactions:
        if r["agent"] in left:
            # started_at is UTC; the local day can be the previous one, never a later one.
            assert r["started_at"][:10] <= left[r["agent"]]


def test_agent_days_are_consistent(sim: Run) -> None:
    rows = sim.rows("agent_days.csv")
    assert Counter((r["agent"], r["date"]) for r in rows).most_common(1)[0][1] == 1
    absent = [r for r in rows if r["absent"] == "true"]
    assert 0 < len(absent) < 0.2 * len(rows)
    for r in rows:
        scheduled, logged = int(r["scheduled_s"]), int(r["logged_in_s"])
        productive, adherent = int(r["productive_s"]), int(r["adherent_s"])
        assert r["absent"] in BOOLEANS
        if r["absent"] == "true":
            assert logged == productive == adherent == 0
        else:
            assert 0 < productive <= logged and 0 <= adherent <= scheduled


def test_evaluation_answers_fit_their_scorecard_criteria(sim: Run) -> None:
    criteria = {c["key"]: c for s in sim.scorecard["sections"] for c in s["criteria"]}
    rows = sim.rows("evaluations.csv")
    by_evaluation: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        criterion = criteria[r["criterion"]]
        assert r["scorecard"] == sim.scorecard["key"]
        assert r["scorecard_version"] == str(sim.scorecard["version"])
        if criterion["type"] == "yes_no":
            assert r["answer"] in {"yes", "no", "na"}
        else:
            assert r["answer"] in {"1", "2", "3", "4", "5", "na"}
        parse_utc(r["evaluated_at"])
        by_evaluation[r["evaluation_id"]].add(r["criterion"])
    assert all(keys == set(criteria) for keys in by_evaluation.values())
    assert any(r["comment"] for r in rows)


def test_every_agent_is_evaluated_a_few_times_a_month(sim: Run) -> None:
    qa = {r["external_id"] for r in sim.roster if r["role"] == "qa"}
    agent_of = {r["external_id"]: r["agent"] for r in sim.interactions}
    per_agent = Counter(
        agent_of[r["interaction_external_id"]]
        for r in sim.rows("evaluations.csv")
        if r["criterion"] == "greets-customer" and r["evaluator"] in qa
    )
    # 45 days is about a month and a half: 3-6 a month, fewer for part months.
    assert 3 <= sorted(per_agent.values())[len(per_agent) // 2] <= 9


def test_calibration_sessions_share_an_id_across_several_evaluators(sim: Run) -> None:
    sessions: dict[str, set[str]] = defaultdict(set)
    units: dict[str, set[str]] = defaultdict(set)
    for r in sim.rows("evaluations.csv"):
        if r["calibration_id"]:
            sessions[r["calibration_id"]].add(r["evaluator"])
            units[r["calibration_id"]].add(r["interaction_external_id"])
    assert 1 <= len(sessions) <= 2
    for calibration_id, evaluators in sessions.items():
        assert len(evaluators) >= 3
        assert len(units[calibration_id]) >= 2


def test_transcripts_cover_every_evaluated_interaction(sim: Run) -> None:
    with (sim.out / "transcripts.jsonl").open(encoding="utf-8") as f:
        documents = [json.loads(line) for line in f]
    covered = {d["external_id"] for d in documents}
    evaluated = {r["interaction_external_id"] for r in sim.rows("evaluations.csv")}
    assert evaluated <= covered
    assert len(covered) == len(documents)


def test_transcripts_say_whether_the_agent_verified(sim: Run) -> None:
    with (sim.out / "transcripts.jsonl").open(encoding="utf-8") as f:
        text = {
            d["external_id"]: " ".join(t["text"] for t in d["turns"]) for d in map(json.loads, f)
        }
    for r in sim.rows("evaluations.csv"):
        if r["criterion"] == "verifies-identity" and not r["calibration_id"]:
            disclosed = "I've pulled up the account" in text[r["interaction_external_id"]]
            assert disclosed == (r["answer"] == "no")


def test_truth_skills_match_the_scorecard_and_truth_agents_match_the_roster(sim: Run) -> None:
    truth = sim.truth
    assert [s["key"] for s in truth["skills"]] == [s["key"] for s in sim.scorecard["skills"]]
    keys = {s["key"] for s in truth["skills"]}
    assert 8 <= len(keys) <= 10
    for skill in truth["skills"]:
        assert (skill["kind"] == "knowledge") == (skill["call_type"] is not None)
    criteria_skills = {
        k for s in sim.scorecard["sections"] for c in s["criteria"] for k in c["skills"]
    }
    assert criteria_skills <= keys
    assert {r["focus_skill"] for r in sim.rows("sessions.csv")} <= keys
    assert set(truth["agents"]) == agents_of(sim)
    for agent in truth["agents"].values():
        assert set(agent["skills"]) == keys


def test_a_planted_weakness_is_at_least_one_sd_below_every_other_skill(sim: Run) -> None:
    weak = 0
    for agent in sim.truth["agents"].values():
        values = sorted(agent["skills"].items(), key=lambda kv: kv[1])
        (lowest, low), (_, second) = values[0], values[1]
        if agent["weakest_skill"] is None:
            assert second - low < 1.0
        else:
            weak += 1
            assert agent["weakest_skill"] == lowest and second - low >= 1.0
    assert 0.2 <= weak / len(sim.truth["agents"]) <= 0.5


def test_sessions_are_led_by_a_lead_of_the_agents_program(sim: Run) -> None:
    program_of = {
        (r["external_id"], r["role"]): r["program"] for r in sim.roster if r["role"] != "qa"
    }
    rows = sim.rows("sessions.csv")
    assert rows
    for r in rows:
        assert program_of[(r["lead"], "lead")] == program_of[(r["agent"], "agent")]
        assert r["type"] in {"one_to_one", "side_by_side"}
        assert r["focus_metric"]
        parse_utc(r["started_at"])
