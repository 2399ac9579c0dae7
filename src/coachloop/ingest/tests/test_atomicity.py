"""An import killed half-way (SIGKILL: no cleanup code runs) leaves nothing behind: no
contacts, its staging table dropped, its batch failed. Run against a database of its own, in
subprocesses: SQLite, or PostgreSQL when the suite runs on PostgreSQL."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

ROWS = 100_000
COACHLOOP = str(Path(sys.executable).with_name("coachloop"))


def on_postgres() -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, Callable[[str], list[tuple[Any, ...]]]]]:
    """A fresh, empty database of the suite's kind: (DATABASE_URL, run a query on it)."""
    if not on_postgres():
        path = tmp_path / "killed.sqlite3"

        def query_sqlite(sql: str) -> list[tuple[Any, ...]]:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as connection:
                return connection.execute(sql).fetchall()

        yield f"sqlite:///{path}", query_sqlite
        return
    import psycopg

    default = settings.DATABASES["default"]
    server = {
        "host": default.get("HOST") or "127.0.0.1",
        "port": default.get("PORT") or 5432,
        "user": default.get("USER") or "postgres",
        "password": default.get("PASSWORD") or None,
    }
    name = f"coachloop_killed_{os.getpid()}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')

    def query_postgres(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(dbname=name, autocommit=True, **server) as connection:
            return connection.execute(sql.replace("sqlite_master", "pg_tables")).fetchall()

    password = f":{server['password']}" if server["password"] else ""
    try:
        yield (
            f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{name}",
            query_postgres,
        )
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write_contacts(path: Path, count: int, prefix: str) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "channel", "agent", "started_at", "talk_s", "customer_ref"])
        for n in range(count):
            writer.writerow(
                [
                    f"{prefix}{n}",
                    "voice",
                    f"G{n % 40}",
                    f"2026-06-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
                    n % 900,
                    f"cust-{n % 5000}",
                ]
            )
    return path


def staging_tables(query: Callable[[str], list[tuple[Any, ...]]]) -> list[str]:
    name = "tablename" if on_postgres() else "name"
    return [
        row[0]
        for row in query(f"SELECT {name} FROM sqlite_master WHERE {name} LIKE 'ingest_stage_%'")
    ]


def test_an_import_killed_half_way_writes_nothing_and_shows_as_failed(
    tmp_path: Path, database: tuple[str, Callable[[str], list[tuple[Any, ...]]]]
) -> None:
    url, query = database
    env = {**os.environ, "COACHLOOP_HOME": str(tmp_path), "DATABASE_URL": url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([COACHLOOP, "migrate", "-v0"], env=env, check=True, timeout=60)
    mapping = tmp_path / "m.toml"
    mapping.write_text('[constants]\nprogram = "care"\n')
    big = write_contacts(tmp_path / "big.csv", ROWS, "big-")
    command = [
        COACHLOOP,
        "import",
        "interactions",
        "--mapping",
        str(mapping),
        "--create-missing-agents",
    ]
    importing = subprocess.Popen(
        [*command, str(big)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    staged = 0
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and importing.poll() is None:
            running = query("SELECT COUNT(*) FROM core_job WHERE status = 'running'")
            tables = staging_tables(query) if running and running[0][0] else []
            if tables:
                staged = query(f'SELECT COUNT(*) FROM "{tables[0]}"')[0][0]
                if staged:
                    break
            time.sleep(0.05)
    finally:
        importing.send_signal(signal.SIGKILL)
        importing.wait(timeout=10)
    assert importing.returncode == -signal.SIGKILL, "the import ended before it was killed"
    assert staged > 0
    assert query("SELECT status FROM ingest_importbatch") == [("running",)]
    assert query("SELECT COUNT(*) FROM interactions_interaction") == [(0,)]

    # The next import finds the dead one, marks it failed and drops its staging table.
    small = write_contacts(tmp_path / "small.csv", 3, "small-")
    done = subprocess.run(
        [*command, str(small)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    batches = query("SELECT file_name, status, error FROM ingest_importbatch ORDER BY id")
    assert [(name, status) for name, status, _ in batches] == [
        ("big.csv", "failed"),
        ("small.csv", "succeeded"),
    ]
    assert batches[0][2].startswith("The import stopped: its process stopped.")
    assert query("SELECT status FROM core_job ORDER BY id") == [("failed",), ("succeeded",)]
    assert staging_tables(query) == []
    assert query("SELECT external_id FROM interactions_interaction ORDER BY external_id") == [
        ("small-0",),
        ("small-1",),
        ("small-2",),
    ]
