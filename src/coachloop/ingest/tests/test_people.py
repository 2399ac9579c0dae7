"""People named in a file: by their id in the file's own source system, else by an id that is
unique in another; --create-missing-agents for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from coachloop.core.personas import World
from coachloop.ingest.models import BatchStatus
from coachloop.ingest.tests.helpers import contact, contacts, counts, import_text, problems
from coachloop.interactions.models import Interaction
from coachloop.org import services as org
from coachloop.org.models import ExternalId, Person, Program, Role, RoleAssignment

pytestmark = pytest.mark.django_db

ACD = '[source]\nname = "acd"\n'


def agents() -> dict[str, str]:
    return {c.external_id: c.agent.external_id for c in Interaction.objects.select_related("agent")}


def test_agents_are_found_by_their_id_in_the_files_source(world: World, tmp_path: Path) -> None:
    text = contacts(contact("c1", agent="acd-A1"), contact("c2", agent="acd-B1"))
    batch = import_text("interactions", text, tmp_path, mapping=ACD)
    assert problems(batch) == []
    assert agents() == {"c1": "A1", "c2": "B1"}
    assert set(Interaction.objects.values_list("source", flat=True)) == {"acd"}


def test_the_files_own_source_wins_over_another_sources_id(world: World, tmp_path: Path) -> None:
    # "A2" is Aaron's canonical id, and Alice's id in the ACD.
    org.person_set_external_id(person=world.agent, source="acd", external_id="A2", by=None)
    batch = import_text("interactions", contacts(contact("c1", agent="A2")), tmp_path, mapping=ACD)
    assert problems(batch) == []
    assert agents() == {"c1": "A1"}


def test_an_id_unknown_in_the_source_but_unique_elsewhere_still_resolves(
    world: World, tmp_path: Path
) -> None:
    batch = import_text("interactions", contacts(contact("c1", agent="A2")), tmp_path, mapping=ACD)
    assert problems(batch) == []
    assert agents() == {"c1": "A2"}


def test_an_id_that_names_two_people_in_other_sources_is_an_error(
    world: World, tmp_path: Path
) -> None:
    org.person_set_external_id(person=world.agent, source="wfm", external_id="7", by=None)
    org.person_set_external_id(person=world.agent2, source="hr", external_id="7", by=None)
    batch = import_text("interactions", contacts(contact("c1", agent="7")), tmp_path, mapping=ACD)
    assert problems(batch) == [
        (
            1,
            "agent",
            "7",
            "an id that names one person (it names several in different systems: "
            "set the mapping's source name)",
        )
    ]
    assert Interaction.objects.count() == 0


def test_create_missing_agents_makes_an_agent_of_the_rows_program(
    world: World, tmp_path: Path
) -> None:
    text = contacts(
        contact("c1", agent="N1"),
        contact("c2", agent="N1"),
        contact("c3", agent="N2", program="chat", channel="chat"),
        contact("c4", agent="A1"),
    )
    batch = import_text("interactions", text, tmp_path, mapping=ACD, create_missing_agents=True)
    assert problems(batch) == []
    assert counts(batch)["new"] == 4
    n1 = Person.objects.get(external_id="N1")
    assert n1.name == "N1"
    assert list(ExternalId.objects.filter(person=n1).values_list("source", "external_id")) == [
        ("acd", "N1")
    ]
    roles = RoleAssignment.objects.filter(person__external_id__in=["N1", "N2"])
    assert sorted(roles.values_list("person__external_id", "role", "program__code", "team")) == [
        ("N1", Role.AGENT, "care", None),
        ("N2", Role.AGENT, "chat", None),
    ]
    assert n1.memberships.count() == 0
    assert agents() == {"c1": "N1", "c2": "N1", "c3": "N2", "c4": "A1"}
    assert Interaction.objects.get(external_id="c1").team is None


def test_create_missing_agents_creates_the_program_a_mapping_names(
    world: World, tmp_path: Path
) -> None:
    mapping = '[source]\nname = "acd"\ntimezone = "Europe/Madrid"\n[constants]\nprogram = "sales"\n'
    text = contacts(
        contact("c1", agent="S1"), columns=["external_id", "channel", "agent", "started_at"]
    )
    batch = import_text("interactions", text, tmp_path, mapping=mapping, create_missing_agents=True)
    assert problems(batch) == []
    sales = Program.objects.get(code="sales")
    assert (sales.timezone, sales.first_weekday) == ("Europe/Madrid", 0)
    contact_ = Interaction.objects.get()
    assert (contact_.program, contact_.agent.external_id) == (sales, "S1")
    assert list(batch.programs.all()) == [sales]


def test_without_the_flag_an_unknown_program_is_a_row_error(world: World, tmp_path: Path) -> None:
    mapping = '[constants]\nprogram = "sales"\n'
    text = contacts(contact("c1"), columns=["external_id", "channel", "agent", "started_at"])
    batch = import_text("interactions", text, tmp_path, mapping=mapping)
    assert problems(batch) == [(1, "program", "sales", "an existing program code (care, chat)")]
    assert not Program.objects.filter(code="sales").exists()


def test_a_program_manager_cannot_create_programs_even_with_the_flag(
    world: World, tmp_path: Path
) -> None:
    mapping = '[constants]\nprogram = "sales"\n'
    text = contacts(contact("c1"), columns=["external_id", "channel", "agent", "started_at"])
    batch = import_text(
        "interactions",
        text,
        tmp_path,
        mapping=mapping,
        create_missing_agents=True,
        by=world.user(world.manager),
    )
    assert problems(batch) == [(1, "program", "sales", "an existing program code (care, chat)")]
    assert not Program.objects.filter(code="sales").exists()


def test_a_rejected_file_creates_no_agent_and_no_program(world: World, tmp_path: Path) -> None:
    mapping = '[constants]\nprogram = "sales"\n'
    text = contacts(
        contact("c1", agent="S1"),
        contact("c2", agent="S2", talk_s="-1"),
        columns=["external_id", "channel", "agent", "started_at", "talk_s"],
    )
    batch = import_text("interactions", text, tmp_path, mapping=mapping, create_missing_agents=True)
    assert batch.status == BatchStatus.REJECTED
    assert not Person.objects.filter(external_id__in=["S1", "S2"]).exists()
    assert not Program.objects.filter(code="sales").exists()


def test_a_dry_run_with_the_flag_counts_the_rows_and_creates_nobody(
    world: World, tmp_path: Path
) -> None:
    mapping = '[constants]\nprogram = "sales"\n'
    text = contacts(
        contact("c1", agent="S1"),
        contact("c2", agent="S2"),
        columns=["external_id", "channel", "agent", "started_at"],
    )
    batch = import_text(
        "interactions", text, tmp_path, mapping=mapping, create_missing_agents=True, dry_run=True
    )
    assert problems(batch) == []
    assert counts(batch) == {"read": 2, "new": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert not Person.objects.filter(external_id__in=["S1", "S2"]).exists()
    assert not Program.objects.filter(code="sales").exists()
