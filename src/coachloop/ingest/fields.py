"""The canonical fields of each import kind (CONTRACTS.md, "Canonical files"): type, whether
the column is required, and what a valid value looks like, in words for error messages."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FieldType(Enum):
    TEXT = "text"
    CODE = "code"
    BOOL = "bool"
    DURATION = "duration"
    TIMESTAMP = "timestamp"
    DATE = "date"
    CHOICE = "choice"
    CSAT = "csat"
    NPS = "nps"


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    required_column: bool = False
    choices: tuple[str, ...] = ()
    max_length: int = 200

    @property
    def expected(self) -> str:
        match self.type:
            case FieldType.BOOL:
                return "true/false, 1/0, yes/no or y/n"
            case FieldType.DURATION:
                return "a duration in seconds from 0 to 86,400"
            case FieldType.TIMESTAMP:
                return "a timestamp such as 2026-03-02T09:14:05+00:00"
            case FieldType.DATE:
                return "a date as YYYY-MM-DD"
            case FieldType.CHOICE:
                return "one of " + ", ".join(self.choices)
            case FieldType.NPS:
                return "an integer 0-10"
            case FieldType.CODE:
                return "a code of letters, digits, '-' or '_'"
            case _:
                return f"text of at most {self.max_length} characters"


CHANNELS = ("voice", "chat", "email", "sms", "social")
CSAT_SCALES = ("1-5", "1-10", "0-10", "percent")
ROLES = ("agent", "lead", "qa", "manager")
# coaching.models.SessionType (kept here as text: the simulator imports this module).
SESSION_TYPES = ("one_to_one", "side_by_side", "huddle")

KIND_FIELDS: dict[str, tuple[Field, ...]] = {
    "roster": (
        Field("external_id", FieldType.TEXT, required_column=True, max_length=100),
        Field("name", FieldType.TEXT, required_column=True),
        Field("email", FieldType.TEXT, max_length=254),
        Field("program", FieldType.CODE, required_column=True),
        Field("site", FieldType.CODE),
        Field("team", FieldType.CODE),
        Field("role", FieldType.CHOICE, required_column=True, choices=ROLES),
        Field("team_since", FieldType.DATE),
        Field("hire_date", FieldType.DATE),
        Field("termination_date", FieldType.DATE),
        Field("termination_reason", FieldType.TEXT),
    ),
    "interactions": (
        Field("external_id", FieldType.TEXT, required_column=True),
        Field("channel", FieldType.CHOICE, required_column=True, choices=CHANNELS),
        Field("program", FieldType.CODE, required_column=True),
        Field("queue", FieldType.TEXT, max_length=100),
        Field("call_type", FieldType.TEXT, max_length=100),
        Field("agent", FieldType.TEXT, required_column=True, max_length=100),
        Field("customer_ref", FieldType.TEXT, max_length=500),
        Field("started_at", FieldType.TIMESTAMP, required_column=True),
        Field("answered", FieldType.BOOL),
        Field("wait_s", FieldType.DURATION),
        Field("talk_s", FieldType.DURATION),
        Field("hold_s", FieldType.DURATION),
        Field("acw_s", FieldType.DURATION),
        Field("transferred", FieldType.BOOL),
        Field("escalated", FieldType.BOOL),
        Field("resolved", FieldType.BOOL),
        Field("csat", FieldType.CSAT),
        Field("csat_scale", FieldType.CHOICE, choices=CSAT_SCALES),
        Field("nps", FieldType.NPS),
        Field("recording_url", FieldType.TEXT, max_length=2000),
    ),
    "agent-days": (
        Field("agent", FieldType.TEXT, required_column=True, max_length=100),
        Field("date", FieldType.DATE, required_column=True),
        Field("scheduled_s", FieldType.DURATION),
        Field("logged_in_s", FieldType.DURATION),
        Field("productive_s", FieldType.DURATION),
        Field("adherent_s", FieldType.DURATION),
        Field("absent", FieldType.BOOL),
    ),
    # `turns` is the JSON list as written (loaders/transcripts.py checks each turn).
    "transcripts": (
        Field("external_id", FieldType.TEXT, required_column=True),
        Field("program", FieldType.CODE, required_column=True),
        Field("turns", FieldType.TEXT, required_column=True, max_length=1_000_000),
    ),
    # One row per answer (loaders/evaluations/); a scorecard is one JSON document, no fields.
    "evaluations": (
        Field("evaluation_id", FieldType.TEXT, required_column=True),
        Field("interaction_external_id", FieldType.TEXT, required_column=True),
        Field("program", FieldType.CODE, required_column=True),
        Field("scorecard", FieldType.TEXT, required_column=True, max_length=100),
        Field("scorecard_version", FieldType.TEXT, max_length=10),
        Field("evaluator", FieldType.TEXT, required_column=True, max_length=100),
        Field("evaluated_at", FieldType.TIMESTAMP, required_column=True),
        Field("criterion", FieldType.TEXT, required_column=True, max_length=100),
        Field("answer", FieldType.TEXT, required_column=True, max_length=20),
        Field("comment", FieldType.TEXT, max_length=5000),
        Field("calibration_id", FieldType.TEXT),
    ),
    # Coaching history (loaders/sessions.py): `agent` and `lead` are people's ids.
    "sessions": (
        Field("session_id", FieldType.TEXT, required_column=True),
        Field("agent", FieldType.TEXT, required_column=True, max_length=100),
        Field("lead", FieldType.TEXT, required_column=True, max_length=100),
        Field("started_at", FieldType.TIMESTAMP, required_column=True),
        Field("type", FieldType.CHOICE, required_column=True, choices=SESSION_TYPES),
        Field("focus_skill", FieldType.TEXT, max_length=100),
        Field("focus_metric", FieldType.TEXT, max_length=50),
        Field("notes", FieldType.TEXT, max_length=10_000),
    ),
}

# Roster files may carry a person's ids in other systems as `external_id:<source>` columns.
EXTRA_ID_PREFIX = "external_id:"


def fields_of(kind: str) -> dict[str, Field]:
    return {field.name: field for field in KIND_FIELDS[kind]}


def canonical_header(kind: str) -> tuple[str, ...]:
    """The canonical file's columns, in CONTRACTS.md's order: what the simulator writes and
    what an export with our column names needs no mapping for."""
    return tuple(field.name for field in KIND_FIELDS[kind])
