"""Import speed: `coachloop import interactions` against what people would otherwise do.

For N generated interactions, on SQLite and on PostgreSQL, in one run:
  (a) `coachloop import interactions` end to end (a fresh process, as a user runs it);
  (b) pandas `read_csv` + `to_sql` (default method, chunks within the parameter limit);
  (c) the database's own bulk load with no validation: Python's csv module into a table of the
      canonical columns as text with two indexes (natural key; agent + started_at), one
      transaction (PostgreSQL: COPY; SQLite: executemany).
Targets: PostgreSQL (a) >= 5x (b) and (a) <= 2.5x the time of (c); SQLite (a) <= 2.5x (c).

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/ingest.py --rows 1000000
    .venv/bin/python bench/ingest.py --rows 1000000 --days 28   # a month's export: real density
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coachloop.ingest.fields import canonical_header

ROOT = Path(__file__).resolve().parent.parent
COACHLOOP = [sys.executable, "-m", "coachloop.cli"]
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
PG_DB = "coachloop_bench"
COLUMNS = list(canonical_header("interactions"))


def generate(
    folder: Path, rows: int, agents: int, days: int = 365, seed: int = 7
) -> tuple[Path, Path]:
    """A roster of `agents` agents and `rows` interactions over `days` days before 2026-11-01."""
    rng = np.random.default_rng(seed)
    roster = folder / "roster.csv"
    with roster.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "name", "program", "team", "role", "hire_date"])
        for number in range(1, agents + 1):
            writer.writerow(
                [
                    f"A{number:05d}",
                    f"Agent {number}",
                    "bench",
                    f"bench-{(number - 1) // 15 + 1:03d}",
                    "agent",
                    "2024-01-01",
                ]
            )
    interactions = folder / "interactions.csv"
    end = np.datetime64("2026-11-01T00:00:00")
    seconds = rng.integers(0, days * 86400, rows)
    started = (end - seconds.astype("timedelta64[s]")).astype(str)
    answered = rng.random(rows) > 0.06
    agent = rng.integers(1, agents + 1, rows)
    customer = rng.integers(1, rows // 3 + 2, rows)
    call_types = np.array(["billing", "outage", "moving", "meter", "tariff"])
    call_type = call_types[rng.integers(0, 5, rows)]
    talk = np.round(rng.lognormal(4.9, 0.9, rows))
    hold = np.round(rng.exponential(15, rows))
    acw = np.round(rng.lognormal(3.5, 0.6, rows))
    wait = np.round(rng.exponential(20, rows))
    csat = rng.integers(1, 6, rows)
    has_csat = rng.random(rows) < 0.15
    with interactions.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(rows):
            ok = bool(answered[i])
            writer.writerow(
                [
                    f"B{i:09d}",
                    "voice",
                    "bench",
                    "main",
                    call_type[i],
                    f"A{agent[i]:05d}" if ok else "",
                    f"cust{customer[i]}",
                    started[i] + "+00:00",
                    "true" if ok else "false",
                    int(wait[i]),
                    int(talk[i]) if ok else "",
                    int(hold[i]) if ok else "",
                    int(acw[i]) if ok else "",
                    "false",
                    "false",
                    "",
                    int(csat[i]) if ok and has_csat[i] else "",
                    "",
                    "",
                    "",
                ]
            )
    return roster, interactions


@dataclass
class Result:
    database: str
    method: str
    seconds: float
    rows: int
    peak_mb: float | None = None

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


def peak_child_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run_coachloop(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    completed = subprocess.run(
        [*COACHLOOP, *args], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"coachloop {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
    return elapsed


def coachloop_import(
    database: str, url: str, home: Path, roster: Path, interactions: Path, rows: int
) -> Result:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "COACHLOOP_HOME": str(home),
        "DJANGO_SETTINGS_MODULE": "coachloop.settings",
    }
    run_coachloop(env, "migrate", "--noinput")
    run_coachloop(env, "import", "roster", str(roster))
    # A separate process per measurement, so its peak memory is its own.
    probe = [
        sys.executable,
        "-c",
        (
            "import resource, subprocess, sys, time\n"
            "t = time.perf_counter()\n"
            f"r = subprocess.run({[*COACHLOOP, 'import', 'interactions', str(interactions)]!r},"
            " capture_output=True, text=True)\n"
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
            " r.returncode)\n"
            "sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])\n"
        ),
    ]
    completed = subprocess.run(probe, env=env, capture_output=True, text=True, check=False)
    seconds, peak_kb, code = completed.stdout.split()
    if code != "0":
        sys.exit(f"import failed:\n{completed.stderr}")
    return Result(database, "(a) coachloop import", float(seconds), rows, int(peak_kb) / 1024)


def pandas_to_sql(database: str, url: str, interactions: Path, rows: int) -> Result:
    import pandas as pd
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgres://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS bench_pandas"))
    # SQLite allows 32,766 parameters per statement, PostgreSQL 65,535.
    chunk = (32_766 if database == "sqlite" else 65_535) // len(COLUMNS)
    started = time.perf_counter()
    frame = pd.read_csv(interactions)
    frame.to_sql("bench_pandas", engine, index=False, chunksize=chunk)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return Result(database, "(b) pandas read_csv + to_sql", elapsed, rows)


def raw_bulk_load(database: str, url: str, interactions: Path, rows: int) -> Result:
    ddl = ", ".join(f'"{c}" text' for c in COLUMNS)
    indexes = [
        "CREATE UNIQUE INDEX bench_raw_key ON bench_raw (program, external_id)",
        "CREATE INDEX bench_raw_agent ON bench_raw (agent, started_at)",
    ]
    started = time.perf_counter()
    with interactions.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        if database == "sqlite":
            connection = sqlite3.connect(url.removeprefix("sqlite:///"))
            connection.execute("DROP TABLE IF EXISTS bench_raw")
            connection.execute(f"CREATE TABLE bench_raw ({ddl})")
            for statement in indexes:
                connection.execute(statement)
            marks = ", ".join("?" for _ in COLUMNS)
            connection.executemany(f"INSERT INTO bench_raw VALUES ({marks})", reader)
            connection.commit()
            connection.close()
        else:
            import psycopg

            with psycopg.connect(url) as connection, connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS bench_raw")
                cursor.execute(f"CREATE TABLE bench_raw ({ddl})")
                for statement in indexes:
                    cursor.execute(statement)
                with cursor.copy("COPY bench_raw FROM STDIN") as copy:
                    for record in reader:
                        copy.write_row(record)
    return Result(database, "(c) csv module + bulk load", time.perf_counter() - started, rows)


def fresh_postgres() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {PG_DB}")
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DB}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=1_000)
    parser.add_argument(
        "--days",
        type=int,
        default=365,
        help="span of the contacts: 365 spreads 1M over a year (2.7 a day per agent, rollups as "
        "many as contacts); 28 is a month's export at a real agent's ~36 a day",
    )
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--workdir", type=Path)
    options = parser.parse_args()
    folder = options.workdir or Path(tempfile.mkdtemp(prefix="coachloop-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    roster, interactions = generate(folder, options.rows, options.agents, options.days)
    print(
        f"generated {options.rows:,} interactions for {options.agents:,} agents over "
        f"{options.days} days in "
        f"{time.perf_counter() - started:.1f} s ({interactions.stat().st_size / 1e6:.0f} MB)"
    )
    results: list[Result] = []
    for database in options.databases.split(","):
        home = folder / f"home-{database}"
        if database == "sqlite":
            url = f"sqlite:///{folder / 'bench.sqlite3'}"
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        else:
            url = fresh_postgres()
        results.append(coachloop_import(database, url, home, roster, interactions, options.rows))
        results.append(pandas_to_sql(database, url, interactions, options.rows))
        results.append(raw_bulk_load(database, url, interactions, options.rows))
    print()
    print(f"{'database':<10} {'method':<32} {'seconds':>9} {'rows/s':>10} {'peak MB':>8}")
    for result in results:
        peak = f"{result.peak_mb:8.0f}" if result.peak_mb else f"{'':>8}"
        print(
            f"{result.database:<10} {result.method:<32} {result.seconds:9.1f} "
            f"{result.rows_per_s:10,.0f} {peak}"
        )
    print()
    for database in options.databases.split(","):
        mine, pandas, raw = [r for r in results if r.database == database]
        speedup = mine.rows_per_s / pandas.rows_per_s
        ratio = mine.seconds / raw.seconds
        line = f"{database}: (a) is {speedup:.1f}x the rows/s of (b); (a) takes {ratio:.2f}x (c)"
        if database == "postgres":
            line += f"  [targets: >= 5x: {'met' if speedup >= 5 else 'MISSED'}; "
        else:
            line += "  [targets: "
        line += f"<= 2.5x: {'met' if ratio <= 2.5 else 'MISSED'}]"
        print(line)


if __name__ == "__main__":
    main()
