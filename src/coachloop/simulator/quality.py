"""QA evaluations, calibration sessions and transcripts of the evaluated contacts.

An evaluation's answers come from the handling agent's effective skills on the day (low
`verification` fails "verifies identity" more often, and so on); the transcript is written from
the same answers and outcomes, so what an evaluator marked can be read in what was said.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from coachloop.simulator import randomness
from coachloop.simulator.catalog import (
    CALL_TYPES,
    CHANNELS,
    CRITERIA,
    PROGRAMS,
    SCORECARD_KEY,
    SCORECARD_VERSION,
    SKILL_INDEX,
    Criterion,
)
from coachloop.simulator.clock import EPOCH, iso_one
from coachloop.simulator.contacts import ProgramDay
from coachloop.simulator.model import World
from coachloop.simulator.outcomes import (
    ESCALATED_DEESCALATES_YES,
    UPSET_IF_CALM,
    criterion_yes_probability,
    scale_answer,
)

EVALUATION_HEADER = (
    "evaluation_id",
    "interaction_external_id",
    "program",
    "scorecard",
    "scorecard_version",
    "evaluator",
    "evaluated_at",
    "criterion",
    "answer",
    "comment",
    "calibration_id",
)
CALIBRATION_UNITS = 4  # interactions per calibration session
COMMENT_RATE = 0.3  # of evaluations with a failed criterion


@dataclass
class Contact:
    """One handled contact, as QA and the transcript see it."""

    external_id: str
    program: int
    channel: str
    call_type: str
    agent_name: str
    epoch: int
    talk_s: int
    hold_s: int
    acw_s: int
    transferred: bool
    escalated: bool
    resolved: bool
    skills: np.ndarray


@dataclass
class _Calibration:
    number: int
    calibration_id: str
    day: int
    program: int
    raters: list[str]
    units: int = 0


def draw_answers(rng: np.random.Generator, contact: Contact) -> dict[str, str]:
    """Answers of a careful evaluator; a fixed number of draws whatever the contact."""
    u = rng.random(len(CRITERIA))
    z = rng.standard_normal(len(CRITERIA))
    upset = contact.escalated or bool(rng.random() < UPSET_IF_CALM)
    answers: dict[str, str] = {}
    for i, c in enumerate(CRITERIA):
        skill = contact.skills[SKILL_INDEX[c.skill]]
        if c.call_type is not None and c.call_type != contact.call_type:
            answers[c.key] = "na"
        elif c.key == "de-escalates":
            if not upset:
                answers[c.key] = "na"
            else:
                # An escalated contact is mostly marked as not calmed, whatever the skill.
                p = (
                    ESCALATED_DEESCALATES_YES
                    if contact.escalated
                    else float(criterion_yes_probability(c, skill))
                )
                answers[c.key] = "yes" if u[i] < p else "no"
        elif c.type == "scale_1_5":
            answers[c.key] = str(int(scale_answer(np.array(skill), np.array(z[i]))))
        else:
            answers[c.key] = "yes" if u[i] < float(criterion_yes_probability(c, skill)) else "no"
    return answers


def _failed(criterion: Criterion, answer: str) -> bool:
    return answer == "no" or (criterion.type == "scale_1_5" and answer in ("1", "2"))


def _rater_answers(
    rng: np.random.Generator, answers: dict[str, str], lean: float
) -> dict[str, str]:
    """Another evaluator on the same contact: mostly agrees, leaning lenient or strict."""
    flips = rng.random(len(CRITERIA))
    steps = rng.normal(lean * 0.5, 0.5, len(CRITERIA))
    out: dict[str, str] = {}
    for i, c in enumerate(CRITERIA):
        answer = answers[c.key]
        if answer == "na":
            out[c.key] = answer
        elif c.type == "scale_1_5":
            out[c.key] = str(int(np.clip(int(answer) + round(float(steps[i])), 1, 5)))
        elif answer == "no":
            out[c.key] = "yes" if flips[i] < 1 / (1 + np.exp(2.2 - lean)) else "no"
        else:
            out[c.key] = "no" if flips[i] < 1 / (1 + np.exp(2.2 + lean)) else "yes"
    return out


class QualityDesk:
    """Writes evaluations.csv and transcripts.jsonl as the days go by."""

    def __init__(self, world: World, evaluations: IO[str], transcripts: IO[str]) -> None:
        self.world = world
        self.rows = csv.writer(evaluations, lineterminator="\n")
        self.rows.writerow(EVALUATION_HEADER)
        self.transcripts = transcripts
        self.next_evaluation = 1
        self.evaluations = 0
        self.answer_rows = 0
        self.transcript_count = 0
        # Evaluations happen after the contact but not after the period (23:00 UTC, last day).
        self.period_end = (world.date(world.days) - EPOCH).days * 86400 - 3600
        self.calibrations: list[_Calibration] = []
        for number, (day, program) in enumerate(world.calibrations, start=1):
            others = [world.qa_of(p) for p in range(len(PROGRAMS)) if p != program]
            self.calibrations.append(
                _Calibration(
                    number,
                    f"CAL-{number:04d}",
                    day,
                    program,
                    [world.manager_of(program), *others],
                )
            )

    def evaluate_day(self, pd: ProgramDay, external_ids: list[str]) -> None:
        if not pd.evaluated_rows:
            return
        rng = randomness.stream(self.world.seed, randomness.DAY, pd.program, pd.day, 4)
        for row in pd.evaluated_rows:
            contact = Contact(
                external_id=external_ids[row],
                program=pd.program,
                channel=CHANNELS[int(pd.channel[row])],
                call_type=CALL_TYPES[int(pd.call_type[row])].key,
                agent_name=self.world.agents[int(pd.agent[row])].name.split()[0],
                epoch=int(pd.epoch[row]),
                talk_s=int(pd.talk_s[row]),
                hold_s=int(pd.hold_s[row]),
                acw_s=int(pd.acw_s[row]),
                transferred=bool(pd.transferred[row]),
                escalated=bool(pd.escalated[row]),
                resolved=bool(pd.resolved[row]),
                skills=pd.skills[row],
            )
            self._evaluate(contact, pd.day, rng)

    def _evaluate(self, contact: Contact, day: int, rng: np.random.Generator) -> None:
        answers = draw_answers(rng, contact)
        comment_draw = rng.random()
        days_later, minute = int(rng.integers(1, 5)), int(rng.integers(0, 9 * 60))
        finished = contact.epoch + contact.talk_s + contact.hold_s + contact.acw_s
        # QA works office hours (08:00-17:00 UTC) one to four days after the contact.
        office = (finished // 86400 + days_later) * 86400 + 8 * 3600 + minute * 60
        evaluated_at = max(finished + 600, min(office, self.period_end))
        calibration = self._calibration_for(contact.program, day)
        calibration_id = calibration.calibration_id if calibration else ""
        self._write(
            contact,
            self.world.qa_of(contact.program),
            evaluated_at,
            answers,
            comment_draw < COMMENT_RATE,
            calibration_id,
        )
        self._write_transcript(contact, answers)
        if calibration is None:
            return
        calibration.units += 1
        for rater_no, rater in enumerate(calibration.raters, start=1):
            number = calibration.number
            lean = randomness.stream(
                self.world.seed, randomness.CALIBRATION, number, 0, rater_no
            ).normal(0.0, 0.8)
            rater_rng = randomness.stream(
                self.world.seed, randomness.CALIBRATION, number, calibration.units, rater_no
            )
            self._write(
                contact,
                rater,
                evaluated_at + 3600 * rater_no,
                _rater_answers(rater_rng, answers, float(lean)),
                False,
                calibration_id,
            )

    def _calibration_for(self, program: int, day: int) -> _Calibration | None:
        for calibration in self.calibrations:
            if (
                calibration.program == program
                and day >= calibration.day
                and calibration.units < CALIBRATION_UNITS
            ):
                return calibration
        return None

    def _write(
        self,
        contact: Contact,
        evaluator: str,
        evaluated_at: int,
        answers: dict[str, str],
        with_comment: bool,
        calibration_id: str,
    ) -> None:
        evaluation_id = f"EV-{self.next_evaluation:07d}"
        self.next_evaluation += 1
        self.evaluations += 1
        failed = next((c for c in CRITERIA if _failed(c, answers[c.key])), None)
        when = iso_one(evaluated_at)
        program = PROGRAMS[contact.program].key
        for c in CRITERIA:
            comment = c.comment if with_comment and c is failed else ""
            self.rows.writerow(
                (
                    evaluation_id,
                    contact.external_id,
                    program,
                    SCORECARD_KEY,
                    SCORECARD_VERSION,
                    evaluator,
                    when,
                    c.key,
                    answers[c.key],
                    comment,
                    calibration_id,
                )
            )
            self.answer_rows += 1

    def _write_transcript(self, contact: Contact, answers: dict[str, str]) -> None:
        document = {
            "external_id": contact.external_id,
            "program": PROGRAMS[contact.program].key,
            "turns": transcript_turns(contact, answers),
        }
        self.transcripts.write(json.dumps(document, ensure_ascii=False) + "\n")
        self.transcript_count += 1


ASK_EMAIL_VERIFICATION = (
    "Thanks for your email. Please reply with your account number and postcode so I can "
    "verify the account."
)
DISCLOSES_UNVERIFIED = (
    "I've pulled up the account: your balance is 212.40 and the last payment was on the 3rd."
)
KNOWLEDGE_LINES: dict[str, tuple[str, str]] = {
    # call type: (said when the knowledge criterion passed, when it failed)
    "billing": (
        "Your bill went up because the fixed deal ended in March; here is the new unit rate.",
        "I think the standing charge is what changed, but I'm not sure why it is higher.",
    ),
    "outage": (
        "I've checked the outage map: engineers are on site, restoration expected by 6 pm.",
        "It should be back on soon, these usually don't take long.",
    ),
    "moving-home": (
        "I'll need a final meter reading and the date you move, then I'll set up the new address.",
        "I've noted the new address for you.",
    ),
    "plan-change": (
        "You use about 300 GB a month, so the Unlimited 500 plan fits; it is 12 months at $45.",
        "The Premium plan is our most popular one, shall I switch you?",
    ),
    "tech-support": (
        "I've run a line test: it's clear, so let's restart the router before anything else.",
        "Let me book an engineer visit for you.",
    ),
}


def transcript_turns(contact: Contact, answers: dict[str, str]) -> list[dict[str, Any]]:
    """Short templated turns reflecting what happened, spread over the talk time."""
    name = contact.agent_name
    verified = answers["verifies-identity"] == "yes"
    if contact.channel == "email":
        lines: list[tuple[str, str]] = [
            ("customer", f"Hello, I'm writing about {_label(contact.call_type)}."),
        ]
        if verified:
            lines.append(("agent", ASK_EMAIL_VERIFICATION))
            lines.append(("customer", "Account 55120, postcode LS1 4AB."))
        lines.extend(_middle(contact, answers, verified))
        lines.append(("agent", f"Kind regards, {name}"))
        return _spread(lines, contact.talk_s)
    opening = "Call connected" if contact.channel == "voice" else "Chat started"
    lines = [("system", opening)]
    if answers["greets-customer"] == "yes":
        lines.append(("agent", f"Thanks for contacting us, my name is {name}. How can I help?"))
    else:
        lines.append(("agent", "Yes?"))
    lines.append(("customer", f"Hi, it's about {_label(contact.call_type)}."))
    if verified:
        lines.append(
            ("agent", "Before we go on, can you confirm your full name and date of birth?")
        )
        lines.append(("customer", "Sure, it's Sam Taylor, 4th of May 1986."))
        lines.append(("agent", "Thank you, that's you verified."))
    lines.extend(_middle(contact, answers, verified))
    lines.append(("agent", "Thanks for your patience, have a good day."))
    return _spread(lines, contact.talk_s + contact.hold_s)


def _label(call_type: str) -> str:
    return next(c.label for c in CALL_TYPES if c.key == call_type)


def _middle(contact: Contact, answers: dict[str, str], verified: bool) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    if not verified:
        lines.append(("agent", DISCLOSES_UNVERIFIED))
    if contact.hold_s:
        lines.append(("agent", "Let me check that, I'll put you on a short hold."))
        lines.append(("system", f"Hold ({contact.hold_s} s)"))
    knowledge = KNOWLEDGE_LINES.get(contact.call_type)
    if knowledge is not None:
        passed = next(answers[c.key] == "yes" for c in CRITERIA if c.call_type == contact.call_type)
        lines.append(("agent", knowledge[0] if passed else knowledge[1]))
    if contact.escalated:
        lines.append(("customer", "This isn't good enough. I want to speak to a manager."))
        if answers["de-escalates"] == "no":
            lines.append(("agent", "There's nothing more I can do, that's the policy."))
        lines.append(("system", "Escalated to supervisor"))
    elif answers["de-escalates"] != "na":
        lines.append(("customer", "I've been trying to sort this out for weeks!"))
        if answers["de-escalates"] == "yes":
            lines.append(
                ("agent", "I'm sorry it has taken this long; I'll make sure it's fixed today.")
            )
        else:
            lines.append(("agent", "Well, I can only deal with what's in front of me."))
    if contact.transferred:
        lines.append(("agent", "This needs another team, I'll transfer you now."))
        lines.append(("system", "Transferred"))
    elif contact.resolved:
        lines.append(("agent", "That's all sorted for you now. Is there anything else?"))
        lines.append(("customer", "No, that's great, thanks."))
    else:
        lines.append(
            ("agent", "I've raised this with the team; you should hear back in a few days.")
        )
        lines.append(("customer", "Okay. I hope it's actually fixed this time."))
    return lines


def _spread(lines: list[tuple[str, str]], duration_s: int) -> list[dict[str, Any]]:
    step = max(duration_s, len(lines)) / len(lines)
    return [
        {"speaker": speaker, "offset_s": round(i * step, 1), "text": text}
        for i, (speaker, text) in enumerate(lines)
    ]
