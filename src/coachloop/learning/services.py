"""Writes to the skills catalog."""

from __future__ import annotations

from coachloop.core.errors import ErrorDetail, InvalidInput
from coachloop.learning.models import Skill, SkillKind


def skill_upsert(*, key: str, name: str, kind: str, call_type: str = "") -> Skill:
    """Create the skill or bring its name, kind and call type up to date (scorecard imports
    carry the catalog, CONTRACTS.md)."""
    if kind not in SkillKind.values:
        raise InvalidInput(
            f"Skill {key!r}: kind {kind!r} is not knowledge or behaviour",
            [ErrorDetail(column="kind", value=kind, expected="knowledge or behaviour")],
        )
    skill, created = Skill.objects.get_or_create(
        key=key, defaults={"name": name or key, "kind": kind, "call_type": call_type}
    )
    if not created and (skill.name, skill.kind, skill.call_type) != (
        name or skill.name,
        kind,
        call_type,
    ):
        skill.name, skill.kind, skill.call_type = name or skill.name, kind, call_type
        skill.save(update_fields=["name", "kind", "call_type", "updated_at"])
    return skill
