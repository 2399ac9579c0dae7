"""Importing from the web page and the API: who may, the worker runs it, progress and errors
are visible to the right people."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from coachloop.core.jobs import worker_loop
from coachloop.core.personas import World
from coachloop.ingest.models import BatchStatus, ImportBatch, SavedMapping
from coachloop.interactions.models import Interaction
from coachloop.org.models import Person

pytestmark = pytest.mark.django_db

HEADER = (
    "external_id,channel,program,queue,call_type,agent,customer_ref,started_at,answered,talk_s\n"
)


def csv_file(rows: str, name: str = "calls.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (HEADER + rows).encode(), content_type="text/csv")


GOOD = (
    "X1,voice,care,main,billing,A1,c1,2026-01-05T09:00:00+00:00,true,100\n"
    "X2,voice,care,main,billing,A2,c2,2026-01-05T10:00:00+00:00,true,200\n"
)


def test_a_manager_uploads_a_file_and_the_worker_imports_it(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.manager)
    response = client.post(
        "/imports/", {"kind": "interactions", "file": csv_file(GOOD), "on_error": "reject"}
    )
    batch = ImportBatch.objects.get()
    assert response["Location"] == f"/imports/{batch.pk}/"
    assert batch.status == BatchStatus.QUEUED
    assert "waiting for the worker" in client.get(f"/imports/{batch.pk}/").content.decode()
    assert worker_loop(once=True, poll_s=0) == 1
    batch.refresh_from_db()
    assert (batch.status, batch.rows_inserted) == (BatchStatus.SUCCEEDED, 2)
    assert Interaction.objects.count() == 2
    page = client.get(f"/imports/{batch.pk}/").content.decode()
    assert "Succeeded" in page and "hx-trigger" not in page  # polling stops when done


def test_the_page_polls_while_the_import_runs(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.manager)
    client.post("/imports/", {"kind": "interactions", "file": csv_file(GOOD), "on_error": "reject"})
    batch = ImportBatch.objects.get()
    fragment = client.get(f"/imports/{batch.pk}/", headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert "<html" not in html  # only the status fragment


def test_bad_rows_show_on_the_page_and_the_error_file_downloads(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.manager)
    bad = GOOD + "X3,voice,care,main,billing,A1,c1,not-a-time,true,100\n"
    client.post("/imports/", {"kind": "interactions", "file": csv_file(bad), "on_error": "reject"})
    worker_loop(once=True, poll_s=0)
    batch = ImportBatch.objects.get()
    assert batch.status == BatchStatus.REJECTED
    assert Interaction.objects.count() == 0
    page = client.get(f"/imports/{batch.pk}/").content.decode()
    assert "not-a-time" in page and "Nothing was written" in page
    download = client.get(f"/imports/{batch.pk}/errors.csv")
    body = b"".join(download.streaming_content).decode()  # type: ignore[attr-defined]
    assert "_row,_column,_value,_expected" in body.splitlines()[0]
    assert "X3" in body


def test_a_mapping_can_be_saved_and_reused_from_the_page(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.manager)
    mapping = b'[source]\nname = "acd"\n[columns]\nagent = "Agent"\n'
    rows = (
        "external_id,channel,program,started_at,Agent,talk_s\n"
        "Y1,voice,care,2026-01-05T09:00:00+00:00,acd-A1,50\n"
    )
    client.post(
        "/imports/",
        {
            "kind": "interactions",
            "on_error": "reject",
            "save_mapping_as": "Avaya export",
            "file": SimpleUploadedFile("a.csv", rows.encode()),
            "mapping_file": SimpleUploadedFile("m.toml", mapping),
        },
    )
    saved = SavedMapping.objects.get()
    assert (saved.name, saved.source) == ("Avaya export", "acd")
    client.post(
        "/imports/",
        {
            "kind": "interactions",
            "on_error": "reject",
            "saved_mapping": saved.pk,
            "file": SimpleUploadedFile("b.csv", rows.replace("Y1", "Y2").encode()),
        },
    )
    worker_loop(once=True, poll_s=0)
    assert set(Interaction.objects.values_list("agent__external_id", flat=True)) == {"A1"}
    assert Interaction.objects.filter(source="acd").count() == 2


def test_a_lead_may_not_import_and_nothing_is_created(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.lead)
    assert client.get("/imports/").status_code == 403
    response = client.post("/imports/", {"kind": "interactions", "file": csv_file(GOOD)})
    assert response.status_code == 403
    api = client.post("/api/v1/imports", {"kind": "interactions", "file": csv_file(GOOD)})
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "forbidden"
    assert ImportBatch.objects.count() == 0


def test_the_api_accepts_an_import_and_reports_its_progress_and_counts(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.manager)
    response = client.post("/api/v1/imports", {"kind": "interactions", "file": csv_file(GOOD)})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    worker_loop(once=True, poll_s=0)
    status = client.get(f"/api/v1/imports/{body['id']}").json()
    assert status["status"] == "succeeded"
    assert status["counts"] == {
        "read": 2,
        "written": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "warnings": 0,
    }
    assert status["progress"] == 1.0


def test_the_api_names_bad_rows_with_row_column_value_and_expected(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    client = client_for(world.manager)
    bad = "Z1,voice,care,main,billing,A1,c1,2026-01-05T09:00:00+00:00,true,-5\n"
    imported = client.post(
        "/api/v1/imports", {"kind": "interactions", "file": csv_file(bad), "on_error": "skip"}
    ).json()
    worker_loop(once=True, poll_s=0)
    status = client.get(f"/api/v1/imports/{imported['id']}").json()
    assert status["counts"]["rejected"] == 1
    assert status["problems"][0] == {
        "row": 1,
        "column": "talk_s",
        "value": "-5",
        "expected": "a duration from 0 to 86,400 seconds",
        "warning": False,
    }
    assert status["error_file_url"] == f"/api/v1/imports/{imported['id']}/errors"


def test_an_unknown_kind_is_a_validation_error(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    response = client_for(world.admin).post(
        "/api/v1/imports", {"kind": "payroll", "file": csv_file(GOOD)}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["column"] == "kind"


def test_a_manager_sees_imports_of_their_program_and_not_of_others(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    admin = client_for(world.admin)
    chat = GOOD.replace("care", "chat").replace("A1", "C1").replace("A2", "C1")
    admin.post("/api/v1/imports", {"kind": "interactions", "file": csv_file(chat)})
    admin.post("/api/v1/imports", {"kind": "interactions", "file": csv_file(GOOD)})
    worker_loop(once=True, poll_s=0)
    listed = client_for(world.manager).get("/api/v1/imports").json()
    assert [item["file_name"] for item in listed["items"]] == ["calls.csv"]
    assert listed["count"] == 1


def test_a_manager_does_not_see_an_import_that_also_touched_another_program(
    world: World, client_for: Callable[[Person], Client]
) -> None:
    admin = client_for(world.admin)
    both = GOOD + "X9,chat,chat,main,billing,C1,c9,2026-01-05T09:00:00+00:00,true,100\n"
    imported = admin.post("/api/v1/imports", {"kind": "interactions", "file": csv_file(both)})
    worker_loop(once=True, poll_s=0)
    manager = client_for(world.manager)
    assert manager.get(f"/api/v1/imports/{imported.json()['id']}").status_code == 404
    assert manager.get("/api/v1/imports").json()["count"] == 0


def test_the_error_file_downloads_with_a_bearer_token(world: World) -> None:
    from coachloop.core.services import token_create

    _, token = token_create(user=world.user(world.manager))
    auth = {"Authorization": f"Bearer {token}"}
    client = Client()
    bad = "Z1,voice,care,main,billing,A1,c1,2026-01-05T09:00:00+00:00,true,-5\n"
    imported = client.post(
        "/api/v1/imports", {"kind": "interactions", "file": csv_file(bad)}, headers=auth
    ).json()
    worker_loop(once=True, poll_s=0)
    url = client.get(f"/api/v1/imports/{imported['id']}", headers=auth).json()["error_file_url"]
    assert url == f"/api/v1/imports/{imported['id']}/errors"
    download = client.get(url, headers=auth)
    assert download.status_code == 200
    assert b"_row,_column,_value,_expected" in b"".join(download.streaming_content)  # type: ignore[attr-defined]
