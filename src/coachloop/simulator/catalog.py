"""The fixed shape of the simulated contact center: skills, call types, programs, scorecard.

Everything here is static data. The random world (who works where, how good they are) is drawn
in ``model.py``; how a contact turns out is in ``outcomes.py``. Keeping the catalog apart means a
reader can see every planted parameter in one place, and docs/simulator.md can cite it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Skill:
    key: str
    name: str
    kind: str  # knowledge | behaviour
    call_type: str | None


# Knowledge skills first, behaviours after; the order is the column order of every skill matrix.
SKILLS: tuple[Skill, ...] = (
    Skill("billing-knowledge", "Billing knowledge", "knowledge", "billing"),
    Skill("outage-knowledge", "Outage knowledge", "knowledge", "outage"),
    Skill("moving-home-knowledge", "Moving home knowledge", "knowledge", "moving-home"),
    Skill("plan-change-knowledge", "Plan change knowledge", "knowledge", "plan-change"),
    Skill("tech-support-knowledge", "Tech support knowledge", "knowledge", "tech-support"),
    Skill("de-escalation", "De-escalation", "behaviour", None),
    Skill("process-adherence", "Process adherence", "behaviour", None),
    Skill("documentation-speed", "Documentation speed", "behaviour", None),
    Skill("empathy", "Empathy", "behaviour", None),
    Skill("verification", "Identity verification", "behaviour", None),
)
SKILL_KEYS: tuple[str, ...] = tuple(s.key for s in SKILLS)
SKILL_INDEX: dict[str, int] = {key: i for i, key in enumerate(SKILL_KEYS)}
N_SKILLS = len(SKILLS)
DEESC = SKILL_INDEX["de-escalation"]
PROCESS = SKILL_INDEX["process-adherence"]
DOCS = SKILL_INDEX["documentation-speed"]
EMPATHY = SKILL_INDEX["empathy"]
VERIFY = SKILL_INDEX["verification"]


@dataclass(frozen=True)
class CallType:
    key: str
    label: str  # how a customer says it, for transcripts
    driver: str  # the skill that decides hold, transfer and resolution on this call type
    talk_median_s: float  # voice talk median; chat and email scale it
    resolve_logit: float  # log-odds of resolution for an average agent


# Call types without their own knowledge skill are routine procedures: process adherence decides
# them, so a knowledge weakness shows on exactly one call type (the one truth.json names).
CALL_TYPES: tuple[CallType, ...] = (
    CallType("billing", "a question about my bill", "billing-knowledge", 170.0, 1.25),
    CallType("outage", "my supply being off", "outage-knowledge", 85.0, 1.65),
    CallType("moving-home", "moving to a new home", "moving-home-knowledge", 230.0, 1.05),
    CallType("meter-reading", "giving a meter reading", "process-adherence", 60.0, 2.15),
    CallType("plan-change", "changing my plan", "plan-change-knowledge", 180.0, 1.35),
    CallType("tech-support", "my internet not working", "tech-support-knowledge", 240.0, 0.85),
    CallType("payment-arrangement", "setting up a payment plan", "process-adherence", 190.0, 1.45),
    CallType("refund", "a refund I am owed", "process-adherence", 130.0, 1.55),
)
CALL_TYPE_INDEX: dict[str, int] = {c.key: i for i, c in enumerate(CALL_TYPES)}
CALL_TYPE_DRIVER: tuple[int, ...] = tuple(SKILL_INDEX[c.driver] for c in CALL_TYPES)

CHANNELS: tuple[str, ...] = ("voice", "chat", "email")
CHANNEL_INDEX: dict[str, int] = {c: i for i, c in enumerate(CHANNELS)}


@dataclass(frozen=True)
class ChannelProfile:
    """How one channel behaves. Concurrency lets a chat agent hold two chats at once."""

    talk_factor: float
    talk_sd: float
    acw_median_s: float
    hold_logit: float
    contacts_per_day: float
    concurrency: float
    abandon_rate: float


CHANNEL_PROFILES: dict[str, ChannelProfile] = {
    "voice": ChannelProfile(1.0, 0.95, 50.0, -0.7, 44.0, 1.0, 0.05),
    "chat": ChannelProfile(3.0, 0.75, 35.0, -1.8, 30.0, 2.0, 0.04),
    # Email: "talk" is reading the thread, the reply is written in after-contact work.
    "email": ChannelProfile(0.6, 0.7, 260.0, -9.0, 24.0, 1.0, 0.0),
}


@dataclass(frozen=True)
class Queue:
    key: str
    channel: str | None = None  # None = any channel
    call_types: tuple[str, ...] = ()  # empty = any call type
    weight: float = 1.0


@dataclass(frozen=True)
class Program:
    key: str
    name: str
    prefix: str  # interaction external ids: CARE-00000001
    timezone: str
    agent_share: float  # share of --agents
    channel_mix: tuple[tuple[str, float], ...]  # channel an agent works, with its share
    call_type_mix: tuple[tuple[str, float], ...]
    queues: tuple[Queue, ...]
    sites: tuple[str, ...]  # teams take them in turn
    gives_resolved_flag: bool  # care does not: FCR must be derived from repeats
    csat_scale: str
    csat_response_rate: float
    gives_nps: bool
    known_customer_rate: float  # share of customers with a customer_ref

    @property
    def call_types(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.call_type_mix)

    def relevant_skills(self) -> tuple[int, ...]:
        """Skills that show in this program's contacts: its call types' drivers + behaviours."""
        drivers = {CALL_TYPE_DRIVER[CALL_TYPE_INDEX[c]] for c in self.call_types}
        return tuple(
            i
            for i, skill in enumerate(SKILLS)
            if skill.kind == "behaviour" or (skill.kind == "knowledge" and i in drivers)
        )


PROGRAMS: tuple[Program, ...] = (
    Program(
        key="care",
        name="Energy care",
        prefix="CARE",
        timezone="Europe/London",
        agent_share=0.42,
        channel_mix=(("voice", 1.0),),
        call_type_mix=(
            ("billing", 0.35),
            ("outage", 0.15),
            ("moving-home", 0.2),
            ("meter-reading", 0.3),
        ),
        queues=(Queue("care-main", weight=0.85), Queue("care-priority", weight=0.15)),
        sites=("leeds", "manila"),
        gives_resolved_flag=False,
        csat_scale="1-5",
        csat_response_rate=0.15,
        gives_nps=False,
        known_customer_rate=0.7,
    ),
    Program(
        key="chat",
        name="Broadband chat",
        prefix="CHAT",
        timezone="America/New_York",
        agent_share=0.29,
        channel_mix=(("chat", 1.0),),
        call_type_mix=(("plan-change", 0.35), ("tech-support", 0.35), ("billing", 0.3)),
        queues=(
            Queue("chat-sales", call_types=("plan-change", "billing")),
            Queue("chat-tech", call_types=("tech-support",)),
        ),
        sites=("austin", "manila"),
        gives_resolved_flag=True,
        csat_scale="0-10",
        csat_response_rate=0.22,
        gives_nps=True,
        known_customer_rate=0.88,
    ),
    Program(
        key="billing",
        name="Billing back office",
        prefix="BILL",
        timezone="Europe/London",
        agent_share=0.29,
        channel_mix=(("voice", 0.6), ("email", 0.4)),
        call_type_mix=(("billing", 0.55), ("payment-arrangement", 0.25), ("refund", 0.2)),
        queues=(Queue("billing-voice", channel="voice"), Queue("billing-email", channel="email")),
        sites=("leeds",),
        gives_resolved_flag=True,
        csat_scale="percent",
        csat_response_rate=0.1,
        gives_nps=False,
        known_customer_rate=0.82,
    ),
)
PROGRAM_INDEX: dict[str, int] = {p.key: i for i, p in enumerate(PROGRAMS)}

# The planted program-wide problem (unless --no-program-problem): a broken billing process on
# `care` lowers every agent's chance of resolving a billing contact by this much, from a third of
# the way into the period. Care gives no resolved flag, so it can only be seen in derived FCR.
PROBLEM_PROGRAM = "care"
PROBLEM_CALL_TYPE = "billing"
PROBLEM_RESOLUTION_EFFECT = -0.2

# Repeat contacts: chance that a customer comes back on the same call type within 1-6 days.
REPEAT_IF_UNRESOLVED = 0.82
REPEAT_IF_RESOLVED = 0.06
REPEAT_DELAY_DAYS = (1, 2, 3, 4, 5, 6)
REPEAT_DELAY_WEIGHTS = (0.34, 0.24, 0.16, 0.11, 0.08, 0.07)

# Which metric a lead names when coaching a skill (sessions.csv focus_metric).
FOCUS_METRIC: dict[str, str] = {
    "de-escalation": "escalation_rate",
    "process-adherence": "qa_score",
    "documentation-speed": "acw",
    "empathy": "csat",
    "verification": "qa_score",
}
for _skill in SKILLS:
    if _skill.kind == "knowledge":
        FOCUS_METRIC[_skill.key] = "fcr"


@dataclass(frozen=True)
class Criterion:
    key: str
    question: str
    guidance: str
    type: str  # yes_no | scale_1_5
    weight: int
    critical: bool
    skill: str
    call_type: str | None = None  # asked only on this call type, else `na`
    comment: str = ""  # what an evaluator writes when it fails


SCORECARD_KEY = "cx-core"
SCORECARD_VERSION = 1

SECTIONS: tuple[tuple[str, str, tuple[Criterion, ...]], ...] = (
    (
        "opening",
        "Opening and security",
        (
            Criterion(
                "greets-customer",
                "Greets the customer and gives their name",
                "Brand greeting and first name within the first seconds.",
                "yes_no",
                1,
                False,
                "process-adherence",
                comment="No greeting, went straight into the account.",
            ),
            Criterion(
                "verifies-identity",
                "Verifies identity before disclosing account details",
                "Two factors (name plus date of birth or postcode) before any account detail.",
                "yes_no",
                3,
                True,
                "verification",
                comment="Disclosed account details before verifying the caller.",
            ),
        ),
    ),
    (
        "resolution",
        "Knowledge and resolution",
        (
            Criterion(
                "explains-bill",
                "Explains the bill correctly",
                "Charges, tariff and balance explained accurately. Billing contacts only.",
                "yes_no",
                3,
                False,
                "billing-knowledge",
                call_type="billing",
                comment="Explained the standing charge wrongly.",
            ),
            Criterion(
                "outage-information",
                "Gives accurate outage information",
                "Checks the outage map and gives a realistic restoration time.",
                "yes_no",
                3,
                False,
                "outage-knowledge",
                call_type="outage",
                comment="Gave a restoration time without checking the outage map.",
            ),
            Criterion(
                "moving-home-process",
                "Follows the moving home process",
                "Final reading, new address and start date captured.",
                "yes_no",
                3,
                False,
                "moving-home-knowledge",
                call_type="moving-home",
                comment="Did not take a final meter reading.",
            ),
            Criterion(
                "recommends-plan",
                "Recommends a plan that fits the customer",
                "Asks about usage before recommending; states price and contract term.",
                "yes_no",
                3,
                False,
                "plan-change-knowledge",
                call_type="plan-change",
                comment="Recommended a plan without asking about usage.",
            ),
            Criterion(
                "troubleshoots",
                "Troubleshoots in the right order",
                "Line test, router restart, then escalation to field engineers.",
                "yes_no",
                3,
                False,
                "tech-support-knowledge",
                call_type="tech-support",
                comment="Skipped the line test.",
            ),
            Criterion(
                "follows-procedure",
                "Follows the procedure for the request",
                "1 = ignored it, 5 = textbook.",
                "scale_1_5",
                2,
                False,
                "process-adherence",
                comment="Several procedure steps missed.",
            ),
        ),
    ),
    (
        "soft-skills",
        "Soft skills",
        (
            Criterion(
                "shows-empathy",
                "Acknowledges the customer's situation",
                "1 = dismissive, 5 = warm and specific.",
                "scale_1_5",
                2,
                False,
                "empathy",
                comment="Sounded rushed and dismissive.",
            ),
            Criterion(
                "de-escalates",
                "Calms an upset customer",
                "Only when the customer is upset; otherwise na.",
                "yes_no",
                2,
                False,
                "de-escalation",
                comment="Argued with an upset customer.",
            ),
        ),
    ),
    (
        "wrap-up",
        "Wrap-up",
        (
            Criterion(
                "documents-contact",
                "Records the contact accurately",
                "Reason, actions and next steps in the CRM note.",
                "yes_no",
                1,
                False,
                "documentation-speed",
                comment="CRM note missing the next steps.",
            ),
        ),
    ),
)
CRITERIA: tuple[Criterion, ...] = tuple(c for _, _, criteria in SECTIONS for c in criteria)


def scorecard_document() -> dict[str, Any]:
    """scorecard.json, exactly the CONTRACTS shape."""
    return {
        "key": SCORECARD_KEY,
        "name": "Customer experience core",
        "version": SCORECARD_VERSION,
        "critical_scope": "evaluation",
        "programs": [],
        "channels": [],
        "call_types": [],
        "skills": [
            {"key": s.key, "name": s.name, "kind": s.kind, "call_type": s.call_type} for s in SKILLS
        ],
        "sections": [
            {
                "key": key,
                "name": name,
                "criteria": [
                    {
                        "key": c.key,
                        "question": c.question,
                        "guidance": c.guidance,
                        "type": c.type,
                        "weight": c.weight,
                        "critical": c.critical,
                        "skills": [c.skill],
                    }
                    for c in criteria
                ],
            }
            for key, name, criteria in SECTIONS
        ],
    }
