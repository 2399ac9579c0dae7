"""How a contact turns out, given the agent's effective skills at that moment.

One vectorised function draws the outcomes of many contacts at once; a second computes the same
model's expectations analytically, so truth.json can say how much one coaching session should move
each metric. Both read the coefficients below, so they cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from coachloop.simulator.catalog import (
    CALL_TYPE_DRIVER,
    CALL_TYPE_INDEX,
    CALL_TYPES,
    CHANNEL_PROFILES,
    CHANNELS,
    CRITERIA,
    DEESC,
    DOCS,
    EMPATHY,
    PROCESS,
    PROGRAMS,
    REPEAT_IF_RESOLVED,
    REPEAT_IF_UNRESOLVED,
    SKILL_INDEX,
    Criterion,
)

# --- coefficients (per SD of skill) ---
KNOWLEDGE_ON_RESOLVE = 0.85  # log-odds
PROCESS_ON_RESOLVE = 0.15
TRANSFER_LOGIT = -2.75  # ~6% for an average agent
KNOWLEDGE_ON_TRANSFER = -0.7
RESOLVE_IF_TRANSFERRED = 0.75  # multiplier: the next team resolves less often
ESCALATE_LOGIT = -3.8
DEESC_ON_ESCALATE = -0.9
UNRESOLVED_ON_ESCALATE = 1.0
KNOWLEDGE_ON_HOLD = -0.6  # log-odds of any hold
HOLD_MEDIAN_S = 55.0
KNOWLEDGE_ON_HOLD_TIME = -0.2  # log hold time
HOLD_SD = 0.7
KNOWLEDGE_ON_TALK = -0.10  # log talk time
UNRESOLVED_ON_TALK = 0.25
ACW_SD = 0.6
DOCS_ON_ACW = -0.35  # log ACW
SATISFACTION_BASE = 0.75
RESOLVED_ON_SAT = 1.3
ESCALATED_ON_SAT = -0.9
TRANSFERRED_ON_SAT = -0.3
EMPATHY_ON_SAT = 0.4
TOP2_CUT = 0.6  # latent satisfaction from which every scale gives a top-2 answer
UPSET_IF_CALM = 0.2  # share of non-escalated contacts with an upset customer
SCALE_CENTER = 3.4
SCALE_SLOPE = 0.9
SCALE_NOISE = 0.7
MAX_DURATION_S = 14400


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def norm_cdf(x: np.ndarray) -> np.ndarray:
    flat = np.asarray(x, dtype=np.float64).ravel()
    out = np.array([0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in flat.tolist()])
    return out.reshape(np.shape(x))


RESOLVE_LOGITS = np.array([c.resolve_logit for c in CALL_TYPES])
TALK_LOG_MEDIANS = np.log(np.array([c.talk_median_s for c in CALL_TYPES]))
DRIVERS = np.array(CALL_TYPE_DRIVER)
TALK_FACTOR = np.log(np.array([CHANNEL_PROFILES[c].talk_factor for c in CHANNELS]))
TALK_SD = np.array([CHANNEL_PROFILES[c].talk_sd for c in CHANNELS])
ACW_LOG_MEDIAN = np.log(np.array([CHANNEL_PROFILES[c].acw_median_s for c in CHANNELS]))
HOLD_LOGIT = np.array([CHANNEL_PROFILES[c].hold_logit for c in CHANNELS])


@dataclass
class Outcomes:
    talk_s: np.ndarray  # int
    hold_s: np.ndarray
    acw_s: np.ndarray
    transferred: np.ndarray  # bool
    escalated: np.ndarray
    resolved: np.ndarray
    satisfaction: np.ndarray  # latent, standard-normal noise; the survey scales read it


def resolve_probability(
    knowledge: np.ndarray,
    process: np.ndarray,
    call_type: np.ndarray,
    transferred: np.ndarray,
    problem: np.ndarray | float,
) -> np.ndarray:
    p = sigmoid(
        RESOLVE_LOGITS[call_type] + KNOWLEDGE_ON_RESOLVE * knowledge + PROCESS_ON_RESOLVE * process
    )
    p = np.where(transferred, p * RESOLVE_IF_TRANSFERRED, p)
    # The program problem is an absolute change in probability: what truth.json reports.
    return np.clip(p + problem, 0.02, 0.98)


def escalate_probability(deesc: np.ndarray, resolved: np.ndarray) -> np.ndarray:
    return sigmoid(
        ESCALATE_LOGIT + DEESC_ON_ESCALATE * deesc + UNRESOLVED_ON_ESCALATE * (1.0 - resolved)
    )


def draw_outcomes(
    rng: np.random.Generator,
    skills: np.ndarray,
    call_type: np.ndarray,
    channel: np.ndarray,
    problem: np.ndarray,
) -> Outcomes:
    """Outcomes of n contacts. ``skills`` is n x skills (the handling agent's, today).

    A fixed number of draws per contact, in a fixed order, so two runs that differ only in skill
    values (placebo vs effect) see the same random numbers: common random numbers.
    """
    n = len(call_type)
    u = rng.random((4, n))
    z = rng.standard_normal((4, n))
    rows = np.arange(n)
    knowledge = skills[rows, DRIVERS[call_type]]
    process = skills[:, PROCESS]

    transferred = u[0] < sigmoid(TRANSFER_LOGIT + KNOWLEDGE_ON_TRANSFER * knowledge)
    resolved = u[1] < resolve_probability(knowledge, process, call_type, transferred, problem)
    escalated = u[2] < escalate_probability(skills[:, DEESC], resolved.astype(np.float64))
    has_hold = u[3] < sigmoid(HOLD_LOGIT[channel] + KNOWLEDGE_ON_HOLD * knowledge)

    talk = np.exp(
        TALK_LOG_MEDIANS[call_type]
        + TALK_FACTOR[channel]
        + KNOWLEDGE_ON_TALK * knowledge
        + UNRESOLVED_ON_TALK * ~resolved
        + TALK_SD[channel] * z[0]
    )
    hold = np.where(
        has_hold,
        np.exp(np.log(HOLD_MEDIAN_S) + KNOWLEDGE_ON_HOLD_TIME * knowledge + HOLD_SD * z[1]),
        0.0,
    )
    acw = np.exp(ACW_LOG_MEDIAN[channel] + DOCS_ON_ACW * skills[:, DOCS] + ACW_SD * z[2])
    satisfaction = (
        SATISFACTION_BASE
        + RESOLVED_ON_SAT * resolved
        + ESCALATED_ON_SAT * escalated
        + TRANSFERRED_ON_SAT * transferred
        + EMPATHY_ON_SAT * skills[:, EMPATHY]
        + z[3]
    )
    return Outcomes(
        talk_s=np.clip(np.rint(talk), 5, MAX_DURATION_S).astype(np.int64),
        hold_s=np.clip(np.rint(hold), 0, MAX_DURATION_S).astype(np.int64),
        acw_s=np.clip(np.rint(acw), 0, MAX_DURATION_S).astype(np.int64),
        transferred=transferred,
        escalated=escalated,
        resolved=resolved,
        satisfaction=satisfaction,
    )


def survey_value(satisfaction: np.ndarray, scale: str) -> np.ndarray:
    """Latent satisfaction to an answer on the program's scale; top-2 starts at TOP2_CUT on all."""
    s = satisfaction - TOP2_CUT
    if scale == "1-5":
        return np.asarray(
            1 + (s >= -1.8).astype(int) + (s >= -1.0) + (s >= 0.0) + (s >= 0.9), dtype=np.int64
        )
    if scale == "0-10":
        return np.clip(np.floor(9.0 + 1.6 * s), 0, 10).astype(np.int64)
    if scale == "1-10":
        return np.clip(np.floor(9.0 + 1.4 * s), 1, 10).astype(np.int64)
    if scale == "percent":
        return np.clip(np.floor(80.0 + 12.0 * s), 0, 100).astype(np.int64)
    raise ValueError(f"unknown CSAT scale {scale!r}")


def nps_value(satisfaction: np.ndarray, noise: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(7.5 + 1.7 * (satisfaction - 0.3 + 0.6 * noise)), 0, 10).astype(np.int64)


# --- QA criteria: how likely an evaluator marks "yes", and the 1-5 scale answers ---
CRITERION_INTERCEPT: dict[str, float] = {
    "greets-customer": 2.5,
    "verifies-identity": 1.6,
    "follows-procedure": 0.0,
    "shows-empathy": 0.0,
    "de-escalates": 1.2,
    "documents-contact": 2.0,
}
KNOWLEDGE_CRITERION_INTERCEPT = 1.3
CRITERION_SLOPE: dict[str, float] = {"verifies-identity": 1.3, "de-escalates": 1.3}
DEFAULT_CRITERION_SLOPE = 1.1
ESCALATED_DEESCALATES_YES = 0.2


def criterion_yes_probability(criterion: Criterion, skill: np.ndarray) -> np.ndarray:
    intercept = CRITERION_INTERCEPT.get(criterion.key, KNOWLEDGE_CRITERION_INTERCEPT)
    slope = CRITERION_SLOPE.get(criterion.key, DEFAULT_CRITERION_SLOPE)
    return sigmoid(intercept + slope * skill)


def scale_answer(skill: np.ndarray, noise: np.ndarray) -> np.ndarray:
    raw = SCALE_CENTER + SCALE_SLOPE * skill + SCALE_NOISE * noise
    return np.clip(np.floor(raw + 0.5), 1, 5).astype(np.int64)


def expected_scale_credit(skill: float) -> float:
    """E[(v - 1) / 4] for scale_answer: P(v >= j) = P(raw >= j - 0.5), summed over j = 2..5."""
    cuts = np.arange(2, 6) - 0.5
    return float(norm_cdf((SCALE_CENTER + SCALE_SLOPE * skill - cuts) / SCALE_NOISE).sum() / 4.0)


# --- expectations (truth.json per_metric) ---


def expected_metrics(skills: np.ndarray, program: int, channel: int) -> dict[str, float]:
    """Expected per-contact metrics for one agent with these skills, over the program's call-type
    mix, as the platform would compute them (FCR derived from repeats where the program gives no
    flag). No program problem, no learning deficit: the agent's own level."""
    spec = PROGRAMS[program]
    total: dict[str, float] = {}
    for call_type_key, weight in spec.call_type_mix:
        for metric, value in _expected_for_call_type(
            skills, CALL_TYPE_INDEX[call_type_key], channel, spec.gives_resolved_flag
        ).items():
            total[metric] = total.get(metric, 0.0) + weight * value
    return total


def _expected_for_call_type(
    skills: np.ndarray, call_type: int, channel: int, flagged: bool
) -> dict[str, float]:
    knowledge = float(skills[DRIVERS[call_type]])
    ct = np.array([call_type])
    p_transfer = float(sigmoid(np.array(TRANSFER_LOGIT + KNOWLEDGE_ON_TRANSFER * knowledge)))
    p_resolve_by_t = [
        float(
            resolve_probability(
                np.array([knowledge]), np.array([skills[PROCESS]]), ct, np.array([t]), 0.0
            )[0]
        )
        for t in (False, True)
    ]
    p_resolve = (1 - p_transfer) * p_resolve_by_t[0] + p_transfer * p_resolve_by_t[1]
    p_esc_by_r = [
        float(escalate_probability(np.array([skills[DEESC]]), np.array([r]))[0]) for r in (0.0, 1.0)
    ]
    p_escalate = (1 - p_resolve) * p_esc_by_r[0] + p_resolve * p_esc_by_r[1]

    top2 = 0.0
    for t, p_t in ((0, 1 - p_transfer), (1, p_transfer)):
        p_r = p_resolve_by_t[t]
        for r, p_rr in ((0, 1 - p_r), (1, p_r)):
            for e, p_e in ((0, 1 - p_esc_by_r[r]), (1, p_esc_by_r[r])):
                mean = (
                    SATISFACTION_BASE
                    + RESOLVED_ON_SAT * r
                    + ESCALATED_ON_SAT * e
                    + TRANSFERRED_ON_SAT * t
                    + EMPATHY_ON_SAT * float(skills[EMPATHY])
                )
                top2 += p_t * p_rr * p_e * float(norm_cdf(np.array(mean - TOP2_CUT)))

    p_hold = float(sigmoid(np.array(HOLD_LOGIT[channel] + KNOWLEDGE_ON_HOLD * knowledge)))
    hold = p_hold * math.exp(
        math.log(HOLD_MEDIAN_S) + KNOWLEDGE_ON_HOLD_TIME * knowledge + HOLD_SD**2 / 2
    )
    acw = math.exp(ACW_LOG_MEDIAN[channel] + DOCS_ON_ACW * float(skills[DOCS]) + ACW_SD**2 / 2)
    talk = math.exp(
        TALK_LOG_MEDIANS[call_type]
        + TALK_FACTOR[channel]
        + KNOWLEDGE_ON_TALK * knowledge
        + TALK_SD[channel] ** 2 / 2
    ) * (p_resolve + (1 - p_resolve) * math.exp(UNRESOLVED_ON_TALK))
    if flagged:
        fcr = p_resolve
    else:
        fcr = p_resolve * (1 - REPEAT_IF_RESOLVED) + (1 - p_resolve) * (1 - REPEAT_IF_UNRESOLVED)
    return {
        "fcr": fcr,
        "aht": talk + hold + acw,
        "acw": acw,
        "hold": hold,
        "transfer_rate": p_transfer,
        "escalation_rate": p_escalate,
        "csat": top2,
        "qa_score": _expected_qa(skills, call_type, p_escalate),
    }


def _expected_qa(skills: np.ndarray, call_type: int, p_escalate: float) -> float:
    """Expected QA score (0-100) of one evaluation; a failed critical criterion scores 0."""
    p_upset = p_escalate + (1 - p_escalate) * UPSET_IF_CALM
    call_type_key = CALL_TYPES[call_type].key
    p_verified = 1.0
    score = 0.0
    for upset, p_u in ((False, 1 - p_upset), (True, p_upset)):
        weighted, weights = 0.0, 0.0
        for c in CRITERIA:
            skill = float(skills[SKILL_INDEX[c.skill]])
            if c.call_type is not None and c.call_type != call_type_key:
                continue
            if c.key == "de-escalates":
                if not upset:
                    continue
                share_escalated = p_escalate / p_upset
                credit = share_escalated * ESCALATED_DEESCALATES_YES + (
                    1 - share_escalated
                ) * float(criterion_yes_probability(c, np.array(skill)))
            elif c.type == "scale_1_5":
                credit = expected_scale_credit(skill)
            elif c.critical:
                p_verified = float(criterion_yes_probability(c, np.array(skill)))
                credit = 1.0  # scored only when it passed; failing zeroes the evaluation
            else:
                credit = float(criterion_yes_probability(c, np.array(skill)))
            weighted += c.weight * credit
            weights += c.weight
        score += p_u * 100.0 * weighted / weights
    return p_verified * score
