"""The roster: people, their ids in other systems, roles and teams. Rosters are thousands of
rows, not millions, so each row goes through the org services (validation, history, events),
all of them in one transaction: a rejected roster changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from coachloop.core.errors import CoachloopError
from coachloop.ingest.errorfile import ErrorFile
from coachloop.ingest.fields import EXTRA_ID_PREFIX
from coachloop.ingest.frames import (
    REQUIRED,
    ROW,
    Problems,
    canonical_text,
    chunk_frame,
    label_of,
    require_values,
    typed_fields,
    unreadable_problems,
)
from coachloop.ingest.mapping import Mapping
from coachloop.ingest.readers import TableFile
from coachloop.ingest.references import ImportContext, load_programs
from coachloop.interactions.models import AgentDay, Interaction
from coachloop.org import services as org
from coachloop.org.models import (
    ExternalId,
    Membership,
    Person,
    Program,
    Role,
    RoleAssignment,
    Site,
    Team,
)

KIND = "roster"
REQUIRED_ROSTER_FIELDS = ("external_id", "name", "program", "role")


class RowProblem(Exception):
    def __init__(self, column: str, value: object, expected: str) -> None:
        super().__init__(expected)
        self.column, self.value, self.expected = column, value, expected


def run(
    *,
    batch: Any,
    table: TableFile,
    mapping: Mapping,
    context: ImportContext,
    errors: ErrorFile,
    report: Any,
    started: float,
) -> Any:
    from coachloop.ingest.models import BatchStatus, ImportProblem, OnError
    from coachloop.ingest.services import _finish, _keep

    frames, problems = [], Problems()
    read = 0
    for chunk in table.chunks():
        raw = chunk_frame(chunk)
        problems.add(unreadable_problems(chunk))
        frames.append((raw, _checked(raw, mapping, problems)))
        read += len(chunk) + len(chunk.unreadable)
    rows = pl.concat([typed for _, typed in frames]) if frames else pl.DataFrame()
    raw_all = pl.concat([raw for raw, _ in frames], how="diagonal") if frames else None
    bad = set(problems.error_frame()[ROW].to_list())
    outcome = {"inserted": 0, "updated": 0, "unchanged": 0}
    row_problems: list[tuple[int, str, str, str]] = []
    seen: dict[tuple[Any, ...], int] = {}
    report(0.3, f"{read:,} rows read", force=True)
    with transaction.atomic():
        for record in rows.iter_rows(named=True):
            row = record[ROW]
            if row in bad:
                continue
            key = (record["external_id"], record["role"], record["program"], record["team"])
            if key in seen:
                row_problems.append(
                    (
                        row,
                        label_of(mapping, "external_id"),
                        str(record["external_id"]),
                        f"one row per person, role, program and team (row "
                        f"{seen[key]} has the same)",
                    )
                )
                continue
            seen[key] = row
            try:
                with transaction.atomic():
                    outcome[_apply(record, mapping, context)] += 1
            except RowProblem as problem:
                row_problems.append(
                    (row, problem.column, str(problem.value or ""), problem.expected)
                )
                load_programs(context)  # a program this row created was rolled back with it
            except CoachloopError as exc:
                detail = exc.details[0] if exc.details else None
                row_problems.append(
                    (
                        row,
                        detail.column or "" if detail else "",
                        str(detail.value if detail else ""),
                        exc.message,
                    )
                )
                load_programs(context)
            except IntegrityError as exc:  # e.g. a hire date after the termination date
                row_problems.append((row, "", "", f"a row consistent with the database ({exc})"))
                load_programs(context)
        reattribute(sorted(context.moved_people), reason=f"import #{batch.pk}")
        if row_problems:
            problems.add(
                pl.DataFrame(
                    row_problems,
                    schema={
                        ROW: pl.Int64,
                        "column": pl.Utf8,
                        "value": pl.Utf8,
                        "expected": pl.Utf8,
                    },
                    orient="row",
                )
            )
        error_frame = problems.error_frame()
        rejected = error_frame[ROW].n_unique() if error_frame.height else 0
        if batch.dry_run or (rejected and batch.on_error == OnError.REJECT):
            transaction.set_rollback(True)
    errors.append(raw_all, error_frame)
    kept: list[Any] = []
    _keep(kept, batch, error_frame, problems.warning_frame())
    ImportProblem.objects.bulk_create(kept)
    batch.rows_read, batch.rows_rejected = read, rejected
    batch.errors_path = str(errors.path) if errors.lines else ""
    batch.warnings = problems.warning_frame().height
    if rejected and batch.on_error == OnError.REJECT:
        return _finish(batch, BatchStatus.REJECTED, started)
    batch.rows_inserted, batch.rows_updated = outcome["inserted"], outcome["updated"]
    batch.rows_unchanged = outcome["unchanged"]
    if not batch.dry_run:
        batch.programs.set(
            Program.objects.filter(code__in=rows["program"].drop_nulls().unique().to_list())
            if rows.height
            else []
        )
    return _finish(batch, BatchStatus.SUCCEEDED, started)


def _checked(raw: pl.DataFrame, mapping: Mapping, problems: Problems) -> pl.DataFrame:
    text = canonical_text(raw, mapping, KIND)
    typed = typed_fields(text, mapping, KIND, problems)
    require_values(text, mapping, problems, dict.fromkeys(REQUIRED_ROSTER_FIELDS, REQUIRED))
    extra = [name for name in text.columns if name.startswith(EXTRA_ID_PREFIX)]
    return text.select(
        pl.col(ROW),
        *[expr.alias(name) for name, expr in typed.items()],
        *[pl.col(name) for name in extra],
    )


def _apply(record: dict[str, Any], mapping: Mapping, context: ImportContext) -> str:
    """Apply one roster row; returns inserted (its natural key, the person's role in that
    program and team, is new), updated or unchanged."""
    actor = context.actor
    role = Role(record["role"])
    if role == Role.LEAD and not record["team"]:
        raise RowProblem(label_of(mapping, "team"), None, "the team a lead leads")
    program = _program(record, mapping, context)
    team = _team(record, mapping, context, program) if record["team"] else None
    person = _find_person(record, context)
    if person is not None and context.allowed_program_ids is not None:
        _check_person_in_scope(person, record, mapping, context)
    outcome = "unchanged"
    if person is None:
        person = org.person_create(
            external_id=record["external_id"],
            name=record["name"],
            email=record["email"] or "",
            hire_date=record["hire_date"],
            source=context.source,
            by=actor,
            program=program,
        )
        outcome = "inserted"
    elif _update_person(person, record):
        outcome = "updated"
    ids = {context.source: record["external_id"]}
    ids.update(
        (column[len(EXTRA_ID_PREFIX) :], value)
        for column, value in record.items()
        if column.startswith(EXTRA_ID_PREFIX) and value
    )
    for source, value in ids.items():
        current = ExternalId.objects.filter(person=person, source=source).first()
        if current is None or current.external_id != value:
            org.person_set_external_id(
                person=person, source=source, external_id=value, by=actor, program=program
            )
            outcome = "updated" if outcome == "unchanged" else outcome
    existed = (
        RoleAssignment.objects.active()
        .filter(person=person, role=role, program=program, team=team if role == Role.LEAD else None)
        .exists()
    )
    if role == Role.AGENT and team is not None:
        membership = Membership.objects.filter(person=person, valid_to__isnull=True).first()
        if membership is None or membership.team_id != team.pk:
            since = record["team_since"] or record["hire_date"] or timezone.localdate()
            org.membership_move(person=person, team=team, on=since, by=actor)
            context.moved_people.add(person.pk)
            outcome = "updated" if outcome == "unchanged" else outcome
    org.role_grant(person=person, role=role, program=program, team=team, by=actor)
    if not existed:
        outcome = "inserted"
    ended: dt.date | None = record["termination_date"]
    reason = record["termination_reason"] or person.termination_reason
    if ended is not None and (
        person.termination_date != ended or person.termination_reason != reason
    ):
        org.person_terminate(person=person, on=ended, reason=reason, by=actor, program=program)
        context.moved_people.add(person.pk)
        outcome = "updated" if outcome == "unchanged" else outcome
    return outcome


def _find_person(record: dict[str, Any], context: ImportContext) -> Person | None:
    """Whom a row is about: the person with the row's id in the roster's source, else the one
    created with that id, else the one holding one of the row's ids in another system (an agent
    first met in an ACD export, say, now named by the HR roster)."""
    external_id = record["external_id"]
    known = ExternalId.objects.filter(source=context.source, external_id=external_id).first()
    if known is not None:
        return known.person
    person = Person.objects.filter(external_id=external_id).first()
    if person is not None:
        return person
    for column, value in record.items():
        if column.startswith(EXTRA_ID_PREFIX) and value:
            source = column[len(EXTRA_ID_PREFIX) :]
            known = ExternalId.objects.filter(source=source, external_id=value).first()
            if known is not None:
                return known.person
    return None


def reattribute(person_ids: list[int], *, reason: str) -> None:
    """Contacts and agent days belong to the team the agent was on that day: after a roster
    changed people's teams (or ended them), restamp those of their facts whose team changed,
    and mark the days for KPI recomputation."""
    from coachloop.ingest.services import mark_days

    if not person_ids:
        return
    membership = Membership._meta.db_table
    marks: set[tuple[int, dt.date]] = set()
    for table, day in (
        (Interaction._meta.db_table, "local_date"),
        (AgentDay._meta.db_table, "date"),
    ):
        team_then = (
            f'(SELECT m.team_id FROM "{membership}" m WHERE m.person_id = "{table}".agent_id '
            f'AND m.valid_from <= "{table}"."{day}" AND (m.valid_to IS NULL OR '
            f'm.valid_to > "{table}"."{day}") ORDER BY m.valid_from DESC LIMIT 1)'
        )
        for start in range(0, len(person_ids), 500):  # SQLite limits a query's parameters
            some = person_ids[start : start + 500]
            marks_in = ", ".join(["%s"] * len(some))
            changed = (
                f"agent_id IN ({marks_in}) AND COALESCE(team_id, -1) <> COALESCE({team_then}, -1)"
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    f'SELECT DISTINCT program_id, "{day}" FROM "{table}" WHERE {changed}', some
                )
                marks.update(
                    (
                        int(program),
                        value if isinstance(value, dt.date) else dt.date.fromisoformat(value),
                    )
                    for program, value in cursor.fetchall()
                )
                cursor.execute(f'UPDATE "{table}" SET team_id = {team_then} WHERE {changed}', some)
    mark_days(marks, reason=reason)


def _update_person(person: Person, record: dict[str, Any]) -> bool:
    changes = {}
    # An empty cell means unknown (CONTRACTS.md), so it never clears what is known.
    for field, value in (
        ("name", record["name"]),
        ("email", record["email"]),
        ("hire_date", record["hire_date"]),
    ):
        if value is not None and getattr(person, field) != value:
            changes[field] = value
    if not changes:
        return False
    for field, value in changes.items():
        setattr(person, field, value)
    person.save(update_fields=[*changes, "updated_at"])
    return True


def _program(record: dict[str, Any], mapping: Mapping, context: ImportContext) -> Program:
    code = record["program"]
    program = context.programs.get(code)
    if program is None:
        if not context.may_create_programs:
            raise RowProblem(
                label_of(mapping, "program"),
                code,
                "an existing program (only org admins create programs)",
            )
        program = org.program_create(
            code=code, name=code, timezone=context.timezone or "UTC", by=context.actor
        )
        context.programs[code] = program
    if context.allowed_program_ids is not None and program.pk not in context.allowed_program_ids:
        raise RowProblem(label_of(mapping, "program"), code, "a program you may import for")
    return program


def _team(
    record: dict[str, Any], mapping: Mapping, context: ImportContext, program: Program
) -> Team:
    code = record["team"]
    team = Team.objects.filter(code=code).first()
    site = None
    if record["site"]:
        site = Site.objects.filter(code=record["site"]).first()
        if site is None:
            if not context.may_create_programs:
                raise RowProblem(label_of(mapping, "site"), record["site"], "an existing site")
            site = org.site_create(code=record["site"], name=record["site"], by=context.actor)
    if team is None:
        if not context.may_create_programs:
            raise RowProblem(
                label_of(mapping, "team"), code, "an existing team (only org admins create teams)"
            )
        return org.team_create(program=program, code=code, name=code, site=site, by=context.actor)
    if team.program_id != program.pk:
        raise RowProblem(
            label_of(mapping, "team"),
            code,
            f"a team of program {program.code} (this team is in another program)",
        )
    return team


def _check_person_in_scope(
    person: Person, record: dict[str, Any], mapping: Mapping, context: ImportContext
) -> None:
    """A program manager's roster may only change people of their own programs: someone who
    holds a role elsewhere is that program's person too, and only an org admin may change them."""
    allowed = context.allowed_program_ids or frozenset()
    elsewhere = (
        RoleAssignment.objects.active()
        .filter(person=person, program__isnull=False)
        .exclude(program_id__in=allowed)
        .exists()
    )
    if elsewhere or RoleAssignment.objects.active().filter(person=person, role=Role.ADMIN).exists():
        raise RowProblem(
            label_of(mapping, "external_id"),
            record["external_id"],
            "a person of a program you may import for (this person also works in another "
            "program: ask an org admin)",
        )
