"""The skills catalog: what an agent can get better at. QA criteria, the diagnosis and goals
point at these keys, and the simulator plants weaknesses on the same keys.

(The knowledge base, modules, quizzes and assignments join this app with the learning issue.)"""

from __future__ import annotations

from django.db import models

from coachloop.core.models import TimeStampedModel


class SkillKind(models.TextChoices):
    # Knowledge is about a product or process (often one call type); behaviour shows on every
    # contact. The diagnosis tells the two kinds of gap apart by this.
    KNOWLEDGE = "knowledge", "Knowledge"
    BEHAVIOUR = "behaviour", "Behaviour"


class Skill(TimeStampedModel):
    """One coachable skill. Org-wide: every authenticated user may read the catalog."""

    key = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=SkillKind.choices)
    call_type = models.CharField(
        max_length=100, blank=True, help_text="The call type a knowledge skill is about, if one"
    )

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name
