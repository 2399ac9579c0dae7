"""What a user may see, computed once per user object.

Every ``visible_to(user)`` in coachloop starts from this scope, so the rules of CONTRACTS.md
("Visibility") live here and nowhere else:

- an org admin (role ``admin`` or a Django superuser) sees everything;
- a QA analyst or program manager sees their programs;
- a team lead sees the agents currently on their teams, with those agents' history inside the
  lead's programs;
- an agent sees their own records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from coachloop.org.models import Membership, Person, Role, RoleAssignment

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

_CACHE_ATTRIBUTE = "_coachloop_scope"
PROGRAM_ROLES = frozenset({Role.QA, Role.MANAGER})


@dataclass(frozen=True)
class Scope:
    is_authenticated: bool = False
    is_admin: bool = False
    person_id: int | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    # Programs where the user is a QA analyst or program manager (whole-program visibility).
    program_role_program_ids: frozenset[int] = field(default_factory=frozenset)
    qa_program_ids: frozenset[int] = field(default_factory=frozenset)
    manager_program_ids: frozenset[int] = field(default_factory=frozenset)
    lead_team_ids: frozenset[int] = field(default_factory=frozenset)
    lead_program_ids: frozenset[int] = field(default_factory=frozenset)
    agent_program_ids: frozenset[int] = field(default_factory=frozenset)
    agent_team_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def all_program_ids(self) -> frozenset[int]:
        return self.program_role_program_ids | self.lead_program_ids | self.agent_program_ids

    def has_role(self, role: str) -> bool:
        return role in self.roles


ANONYMOUS = Scope()


def scope_for(user: AbstractBaseUser | AnonymousUser | None) -> Scope:
    """The user's scope; computed once and kept on the user object for the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if isinstance(cached, Scope):
        return cached
    scope = _compute_scope(user)
    setattr(user, _CACHE_ATTRIBUTE, scope)
    return scope


def forget_scope(user: AbstractBaseUser | AnonymousUser) -> None:
    """Drop a cached scope after the user's roles changed in the same request or test."""
    if hasattr(user, _CACHE_ATTRIBUTE):
        delattr(user, _CACHE_ATTRIBUTE)


def _compute_scope(user: AbstractBaseUser | AnonymousUser) -> Scope:
    person = Person.objects.filter(user_id=user.pk or 0).only("pk").first()
    is_superuser = bool(getattr(user, "is_superuser", False))
    if person is None:
        only = frozenset({Role.ADMIN.value}) if is_superuser else frozenset()
        return Scope(is_authenticated=True, is_admin=is_superuser, roles=only)

    assignments = list(
        RoleAssignment.objects.active()
        .filter(person_id=person.pk)
        .values_list("role", "program_id", "team_id")
    )
    roles: set[str] = {role for role, _, _ in assignments}
    if is_superuser:
        roles.add(Role.ADMIN.value)

    def programs_of(*wanted: str) -> frozenset[int]:
        return frozenset(p for r, p, _ in assignments if r in wanted and p is not None)

    agent_team_ids: frozenset[int] = frozenset()
    if Role.AGENT in roles:
        agent_team_ids = frozenset(
            Membership.objects.current()
            .filter(person_id=person.pk)
            .values_list("team_id", flat=True)
        )
    return Scope(
        is_authenticated=True,
        is_admin=Role.ADMIN in roles,
        person_id=person.pk,
        roles=frozenset(roles),
        program_role_program_ids=programs_of(*PROGRAM_ROLES),
        qa_program_ids=programs_of(Role.QA),
        manager_program_ids=programs_of(Role.MANAGER),
        lead_team_ids=frozenset(t for r, _, t in assignments if r == Role.LEAD and t is not None),
        lead_program_ids=programs_of(Role.LEAD),
        agent_program_ids=programs_of(Role.AGENT),
        agent_team_ids=agent_team_ids,
    )
