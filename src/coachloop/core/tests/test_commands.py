"""The `coachloop` command: tokens, the demo, and Django management under our name."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils.html import escape

from coachloop.core.models import ApiToken
from coachloop.core.personas import World
from coachloop.org.models import Person, Program, Role, Team

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_token_create_prints_only_the_token_as_the_last_stdout_line(world: World) -> None:
    out, err = run("token", "create", "m1", "--name", "wfm")
    token = out.strip().splitlines()[-1]
    assert out.strip() == token
    assert token.startswith("cl_")
    assert "shown once" in err
    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json()["username"] == "m1"


def test_tokens_are_listed_without_their_secret_and_can_be_revoked(world: World) -> None:
    first, _ = run("token", "create", "m1")
    run("token", "create", "m1")
    listing, _ = run("token", "list", "m1")
    assert first.strip() not in listing
    assert listing.count("active") == 2
    prefix = ApiToken.objects.order_by("created_at").first().prefix  # type: ignore[union-attr]
    revoked, _ = run("token", "revoke", "m1", "--prefix", prefix)
    assert prefix in revoked
    assert ApiToken.objects.active().count() == 1
    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {first.strip()}"})
    assert response.status_code == 401


def test_token_commands_name_an_unknown_user(world: World) -> None:
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        run("token", "create", "ghost")


def test_the_demo_builds_an_organization_with_a_login_per_role(
    tmp_path: Path, settings: object
) -> None:
    settings.COACHLOOP_HOME = tmp_path  # type: ignore[attr-defined]
    out, err = run("demo", "--no-serve", "--agents", "12", "--days", "7")
    logins = json.loads((tmp_path / "demo-logins.json").read_text())
    assert stat.S_IMODE((tmp_path / "demo-logins.json").stat().st_mode) == 0o600
    roles = {role for login in logins for role in login["roles"]}
    assert roles == set(Role.values)
    lead = next(login for login in logins if login["roles"] == ["lead"])
    assert set(lead) == {"username", "password", "roles", "scope"}
    assert set(lead["scope"]) == {"programs", "teams", "agent"}
    assert Person.objects.agents().count() >= 12
    # The demo went through the importers: interactions are there, and their batches.
    from coachloop.ingest.models import ImportBatch
    from coachloop.interactions.models import Interaction

    assert Interaction.objects.exists()
    assert set(ImportBatch.objects.values_list("kind", flat=True)) == {
        "roster",
        "interactions",
        "agent-days",
        "scorecard",
        "transcripts",
        "evaluations",
        "sessions",
    }
    assert "import interactions" in err and "total" in err  # the time of each stage
    # Last week's QA queues are filled, so an analyst finds contacts waiting.
    from coachloop.quality.models import Sample

    assert Sample.objects.open().exists() and "qa samples" in err
    assert lead["username"] in out and lead["password"] in out
    # A printed login really signs in and sees its team.
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": lead["username"], "password": lead["password"]}
    )
    assert response["Location"] == "/"
    me = client.get("/api/v1/me").json()
    assert me["scope"] == lead["scope"]
    # Every lead of the demo has a coaching queue listing their team's agents, and each agent's
    # diagnosis page opens (a week of data is too little for most to show an opportunity).
    leads = [login for login in logins if login["roles"] == ["lead"]]
    assert leads
    for login in leads:
        client = Client()
        client.post(
            "/accounts/login/", {"username": login["username"], "password": login["password"]}
        )
        for code in login["scope"]["teams"]:
            team = Team.objects.get(code=code)
            queue = client.get(f"/coaching/teams/{team.pk}/queue")
            assert queue.status_code == 200
            members = Person.objects.filter(
                memberships__team=team, memberships__valid_to__isnull=True
            )
            html = queue.content.decode()
            assert members.exists()
            for agent in members:
                assert f'data-agent="{agent.pk}"' in html
                page = client.get(f"/coaching/agents/{agent.pk}/diagnosis")
                assert page.status_code == 200
                assert escape(agent.name) in page.content.decode()


def test_the_demo_refuses_a_database_with_data_unless_reset(
    transactional_db: None,  # --reset flushes, which PostgreSQL refuses inside a test transaction
    world: World,
    tmp_path: Path,
    settings: object,
) -> None:
    settings.COACHLOOP_HOME = tmp_path  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="not empty"):
        run("demo", "--no-serve")
    assert Program.objects.filter(code="chat").exists()
    run("demo", "--no-serve", "--reset", "--agents", "10", "--days", "3")
    assert not Person.objects.filter(external_id="A1").exists()
    assert Person.objects.filter(external_id="A0001").exists()


def test_the_demo_if_empty_leaves_existing_data_alone(
    world: World, tmp_path: Path, settings: object
) -> None:
    settings.COACHLOOP_HOME = tmp_path  # type: ignore[attr-defined]
    before = Person.objects.count()
    _, err = run("demo", "--no-serve", "--if-empty")
    assert Person.objects.count() == before
    assert "already has data" in err


def test_the_demo_is_refused_in_production(settings: object) -> None:
    settings.PRODUCTION = True  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="refused when COACHLOOP_ENV=production"):
        run("demo", "--no-serve")


def test_the_console_script_runs_django_management_under_our_name(tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("coachloop")
    environment = {**os.environ, "COACHLOOP_HOME": str(tmp_path)}
    environment.pop("DATABASE_URL", None)
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [str(executable), "help"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for command in ("migrate", "createsuperuser", "serve", "demo", "token"):
        assert command in result.stdout


def test_the_demo_checks_its_arguments_before_emptying_anything(world: World) -> None:
    for arguments in (["--agents", "5"], ["--days", "0"], ["--seed", "-1"]):
        with pytest.raises(CommandError):
            run("demo", "--no-serve", "--reset", *arguments)
    assert Person.objects.filter(external_id="A1").exists()
