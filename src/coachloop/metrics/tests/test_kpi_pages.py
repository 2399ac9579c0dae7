"""The KPI pages: a lead's home and team dashboard, the CSV export, the agent and program pages,
the targets and exclusions pages, and the contacts list every number links to.

Expected figures are computed here from the contacts in the database; the pages are read with
Django's HTML parser, so an assertion names a table cell rather than a fragment of markup.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.html import Element, parse_html
from django.test.utils import CaptureQueriesContext

from coachloop.core.personas import World
from coachloop.interactions.models import Interaction
from coachloop.metrics import selectors, services
from coachloop.metrics.models import Exclusion, Target
from coachloop.metrics.tests.page_data import PageData, add_agents, build_page_data
from coachloop.org import services as org
from coachloop.org.models import Person, Team

pytestmark = pytest.mark.django_db

Clients = Callable[[Person], Client]
Counts = Callable[[], dict[str, int]]


@pytest.fixture
def data(world: World) -> PageData:
    return build_page_data(world)


# --- reading pages -----------------------------------------------------------------------------


def walk(node: Element) -> Iterator[Element]:
    yield node
    for child in node.children:
        if isinstance(child, Element):
            yield from walk(child)


def classes(node: Element) -> set[str]:
    return set((dict(node.attributes).get("class") or "").split())


def find_all(node: Element, name: str, cls: str | None = None) -> list[Element]:
    return [e for e in walk(node) if e.name == name and (cls is None or cls in classes(e))]


def find(node: Element, name: str, cls: str | None = None) -> Element:
    found = find_all(node, name, cls)
    assert found, f"no <{name} class={cls}>"
    return found[0]


def text(node: Element | str) -> str:
    if isinstance(node, str):
        return node
    return " ".join(text(child) for child in node.children).strip()


def attr(node: Element, name: str) -> str | None:
    return dict(node.attributes).get(name)


@dataclass
class CellView:
    value: str
    n: int
    href: str | None
    band: set[str]
    flag_words: str
    icon: str


def read_cell(td: Element) -> CellView:
    links = find_all(td, "a")
    hidden = find_all(td, "span", "visually-hidden")
    icons = find_all(td, "span", "flag")
    value = text(links[0]) if links else text(td.children[0])
    n = int(text(find(td, "small", "n")).removeprefix("n="))
    return CellView(
        value=value,
        n=n,
        href=attr(links[0], "href") if links else None,
        band={c for c in classes(td) if c.startswith("band-")},
        flag_words=text(hidden[0]) if hidden else "",
        icon=text(icons[0]) if icons else "",
    )


@dataclass
class Board:
    columns: list[str]
    order: list[str]
    rows: dict[str, dict[str, CellView]]
    total: dict[str, CellView]


def dashboard(html: str) -> Board:
    document = parse_html(html)
    table = find(document, "table", "dashboard")
    header = find_all(find(table, "thead"), "tr")[0]
    columns = [text(th) for th in find_all(header, "th")][1:]
    metric_columns = [c for c in columns if not c.endswith("13 weeks")]
    rows: dict[str, dict[str, CellView]] = {}
    order = []
    for tr in find_all(find(table, "tbody"), "tr"):
        name = text(find(tr, "th"))
        order.append(name)
        cells = [read_cell(td) for td in find_all(tr, "td", "kpi")]
        rows[name] = dict(zip(metric_columns, cells, strict=True))
    footer = find(table, "tfoot")
    total = dict(
        zip(metric_columns, [read_cell(td) for td in find_all(footer, "td", "kpi")], strict=True)
    )
    return Board(columns=metric_columns, order=order, rows=rows, total=total)


def page(client: Client, path: str, **params: Any) -> str:
    response = client.get(path, params)
    assert response.status_code == 200, (path, response.status_code)
    return response.content.decode()


def listed_count(html: str) -> int:
    match = re.search(r"<p>(\d+) contacts?</p>", html)
    assert match, "no contact count on the page"
    return int(match.group(1))


# --- expected figures --------------------------------------------------------------------------


def handled(agent: Person, start: dt.date, end: dt.date) -> list[Interaction]:
    return list(
        Interaction.objects.filter(
            agent=agent, answered=True, local_date__gte=start, local_date__lte=end
        )
    )


def fcr_of(contacts: list[Interaction]) -> tuple[float, int]:
    outcomes = [c.resolved if c.resolved is not None else c.fcr_derived for c in contacts]
    known = [o for o in outcomes if o is not None]
    return sum(known) / len(known), len(known)


def aht_of(contacts: list[Interaction]) -> float:
    return sum(c.talk_s + c.hold_s + c.acw_s for c in contacts) / len(contacts)  # type: ignore[operator]


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def minutes(value: float) -> str:
    seconds = round(value)
    return f"{seconds // 60}:{seconds % 60:02d}"


def default_start(data: PageData, world: World) -> dt.date:
    return selectors.week_start(data.last, world.care) - dt.timedelta(weeks=3)


# --- the team dashboard ------------------------------------------------------------------------


def test_a_leads_home_is_their_team_dashboard_with_a_row_per_agent_and_a_team_total(
    data: PageData, world: World, client_for: Clients
) -> None:
    html = page(client_for(world.lead), "/")

    board = dashboard(html)
    assert board.columns == ["AHT", "FCR", "CSAT", "Transfers", "Adherence", "QA score"]
    assert board.order == ["Aaron Agent", "Alice Agent"]
    team = Interaction.objects.filter(team=world.care_a, answered=True)
    assert board.total["AHT"].n == team.count()
    assert board.total["AHT"].value == minutes(aht_of(list(team)))
    assert "Team total" in html
    assert "Bea Otherteam" not in html
    assert "Carl Chat" not in html


def test_the_team_page_is_the_same_dashboard(
    data: PageData, world: World, client_for: Clients
) -> None:
    client = client_for(world.lead)

    home = dashboard(page(client, "/"))
    team = dashboard(page(client, f"/teams/{world.care_a.pk}/"))

    assert team == home


def test_a_cell_shows_the_value_and_its_n(
    data: PageData, world: World, client_for: Clients
) -> None:
    board = dashboard(page(client_for(world.lead), "/"))

    contacts = handled(world.agent, data.first, data.last)
    fcr, known = fcr_of(contacts)
    alice = board.rows["Alice Agent"]
    assert (alice["FCR"].value, alice["FCR"].n) == (percent(fcr), known)
    assert (alice["AHT"].value, alice["AHT"].n) == (minutes(aht_of(contacts)), len(contacts))
    surveyed = [c for c in contacts if c.csat_norm is not None]
    top2 = sum(1 for c in surveyed if c.csat_top2)
    assert (alice["CSAT"].value, alice["CSAT"].n) == (percent(top2 / len(surveyed)), len(surveyed))
    assert (alice["QA score"].value, alice["QA score"].n) == ("—", 0)


def test_a_flagged_cell_says_below_target_in_words_and_an_icon_not_only_in_colour(
    data: PageData, world: World, client_for: Clients
) -> None:
    board = dashboard(page(client_for(world.lead), "/"))

    flagged = board.rows["Alice Agent"]["FCR"]
    assert flagged.band == {"band-below"}
    assert flagged.icon == "▼"
    assert flagged.flag_words == "(below target)"
    fine = board.rows["Aaron Agent"]["FCR"]
    assert (fine.band, fine.icon, fine.flag_words) == (set(), "", "")


def test_sorting_by_a_metric_with_dir_desc_puts_the_worst_agent_first(
    data: PageData, world: World, client_for: Clients
) -> None:
    # Alice has the lower FCR and the longer AHT: the worse of the two on both.
    client = client_for(world.lead)

    by_fcr = dashboard(page(client, "/", sort="fcr", dir="desc"))
    by_aht = dashboard(page(client, "/", sort="aht", dir="desc"))

    assert by_fcr.order == ["Alice Agent", "Aaron Agent"]
    assert by_aht.order == ["Alice Agent", "Aaron Agent"]


def test_sorting_by_name_descending_reverses_the_names(
    data: PageData, world: World, client_for: Clients
) -> None:
    board = dashboard(page(client_for(world.lead), "/", sort="name", dir="desc"))

    assert board.order == ["Alice Agent", "Aaron Agent"]


def test_switching_the_period_changes_the_numbers(
    data: PageData, world: World, client_for: Clients
) -> None:
    client = client_for(world.lead)
    this_week = selectors.week_start(data.last, world.care)
    custom = (data.first + dt.timedelta(days=3), data.first + dt.timedelta(days=9))

    default = dashboard(page(client, "/"))
    week = dashboard(page(client, "/", period="week"))
    chosen = dashboard(
        page(
            client,
            "/",
            period="custom",
            start=custom[0].isoformat(),
            end=custom[1].isoformat(),
        )
    )

    def alice_aht(board: Board) -> tuple[str, int]:
        cell = board.rows["Alice Agent"]["AHT"]
        return cell.value, cell.n

    everything = handled(world.agent, data.first, data.last)
    in_week = handled(world.agent, this_week, data.last)
    in_custom = handled(world.agent, *custom)
    assert alice_aht(default) == (minutes(aht_of(everything)), len(everything))
    assert alice_aht(week) == (minutes(aht_of(in_week)), len(in_week))
    assert alice_aht(chosen) == (minutes(aht_of(in_custom)), len(in_custom))
    assert len(in_week) < len(everything)
    assert len(in_custom) != len(in_week)


def test_an_invalid_custom_period_shows_the_error_and_the_default_period(
    data: PageData, world: World, client_for: Clients
) -> None:
    client = client_for(world.lead)

    reversed_dates = page(
        client,
        "/",
        period="custom",
        start=data.last.isoformat(),
        end=data.first.isoformat(),
    )
    not_a_date = page(client, "/", period="custom", start="2026-13-01", end=data.last.isoformat())

    assert (
        f"The period asked for was not usable: end {data.first} is before start {data.last}. "
        "Showing the default." in reversed_dates
    )
    assert "&#x27;2026-13-01&#x27; is not a date YYYY-MM-DD" in not_a_date
    default = dashboard(page(client, "/"))
    for html in (reversed_dates, not_a_date):
        assert dashboard(html) == default
        checked = [
            attr(i, "value")
            for i in find_all(parse_html(html), "input")
            if attr(i, "name") == "period" and "checked" in dict(i.attributes)
        ]
        assert checked == ["4w"]
        start = default_start(data, world)
        assert f'name="start" value="{start.isoformat()}"' in html


def test_a_cell_links_to_the_contacts_behind_it_and_the_list_shows_as_many_as_its_n(
    data: PageData, world: World, client_for: Clients
) -> None:
    client = client_for(world.lead)
    board = dashboard(page(client, "/"))

    alice = board.rows["Alice Agent"]
    link = urlsplit(alice["AHT"].href or "")
    assert link.path == "/interactions/"
    assert parse_qs(link.query) == {
        "agent": [str(world.agent.pk)],
        "start": [default_start(data, world).isoformat()],
        "end": [data.last.isoformat()],
        "answered": ["true"],
        "timed": ["true"],  # AHT's n leaves out contacts with no talk time
    }
    assert parse_qs(urlsplit(alice["CSAT"].href or "").query)["surveyed"] == ["true"]
    assert alice["Adherence"].href is None  # activity days, not contacts
    for name in ("Alice Agent", "Aaron Agent"):
        for metric in ("AHT", "CSAT", "Transfers"):
            cell = board.rows[name][metric]
            assert listed_count(page(client, cell.href or "")) == cell.n, (name, metric)
    for metric in ("AHT", "CSAT", "Transfers"):
        cell = board.total[metric]
        assert listed_count(page(client, cell.href or "")) == cell.n, ("total", metric)


def test_the_fcr_cell_lists_only_the_contacts_counted_in_its_n(
    data: PageData, world: World, client_for: Clients
) -> None:
    # docs/metrics.md: every value links to "exactly the contacts in its n". FCR's n leaves out
    # handled contacts with no known outcome (Alice has one).
    client = client_for(world.lead)
    fcr = dashboard(page(client, "/")).rows["Alice Agent"]["FCR"]

    assert listed_count(page(client, fcr.href or "")) == fcr.n


def test_the_contacts_list_filters_on_resolved_answered_and_call_type(
    data: PageData, world: World, client_for: Clients
) -> None:
    client = client_for(world.lead)
    base = {"agent": world.agent.pk, "start": data.first.isoformat(), "end": data.last.isoformat()}
    contacts = handled(world.agent, data.first, data.last)
    outcomes = [c.resolved if c.resolved is not None else c.fcr_derived for c in contacts]

    unresolved = listed_count(page(client, "/interactions/", resolved="false", **base))
    billing = listed_count(page(client, "/interactions/", call_type="billing", **base))
    everything = listed_count(page(client, "/interactions/", answered="true", **base))

    assert unresolved == sum(1 for o in outcomes if o is False)
    assert billing == sum(1 for c in contacts if c.call_type == "billing")
    assert everything == len(contacts)


def test_a_contact_page_shows_its_facts(data: PageData, world: World, client_for: Clients) -> None:
    contact = Interaction.objects.filter(agent=world.agent, call_type="billing").first()
    assert contact is not None

    html = page(client_for(world.lead), f"/interactions/{contact.pk}/")

    assert contact.external_id in html
    assert "Alice Agent" in html
    assert "billing" in html


# --- CSV export --------------------------------------------------------------------------------


def read_csv(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_csv_export_has_each_chosen_metric_and_a_row_per_agent_with_exact_values(
    data: PageData, world: World, client_for: Clients
) -> None:
    response = client_for(world.lead).get(
        f"/teams/{world.care_a.pk}/kpis.csv",
        {
            "period": "custom",
            "start": data.first.isoformat(),
            "end": data.last.isoformat(),
            "m": ["fcr", "aht"],
        },
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="care-a-{data.first.isoformat()}-{data.last.isoformat()}.csv"'
    )
    header = response.content.decode().splitlines()[0].split(",")
    assert header == ["agent_external_id", "agent", "start", "end"] + [
        f"{slug}{suffix}"
        for slug in ("fcr", "aht")
        for suffix in ("", "_n", "_low", "_high", "_p_worse", "_status")
    ]
    rows = read_csv(response)
    assert [row["agent_external_id"] for row in rows] == ["A2", "A1"]
    for row, agent in zip(rows, (world.agent2, world.agent), strict=True):
        contacts = handled(agent, data.first, data.last)
        fcr, known = fcr_of(contacts)
        assert (row["start"], row["end"]) == (data.first.isoformat(), data.last.isoformat())
        assert (float(row["fcr"]), int(row["fcr_n"])) == (fcr, known)
        assert (float(row["aht"]), int(row["aht_n"])) == (aht_of(contacts), len(contacts))
        assert float(row["fcr_low"]) <= fcr <= float(row["fcr_high"])
    alice = rows[1]
    assert (alice["agent"], alice["fcr_status"], alice["aht_status"]) == (
        "Alice Agent",
        "below_target",
        "below_target",
    )
    assert rows[0]["fcr_status"] == "on_target"


def test_a_name_starting_with_equals_is_neutralised_in_the_csv(
    data: PageData, world: World, client_for: Clients
) -> None:
    person = org.person_create(
        external_id="+X9", name='=HYPERLINK("http://evil.example","x")', by=None
    )
    org.membership_move(person=person, team=world.care_a, on=data.first, by=None)

    response = client_for(world.lead).get(f"/teams/{world.care_a.pk}/kpis.csv")

    rows = {row["agent_external_id"]: row for row in read_csv(response)}
    assert rows["'+X9"]["agent"] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows["A1"]["agent"] == "Alice Agent"


# --- agent and program pages -------------------------------------------------------------------


def test_the_agent_page_shows_the_kpi_table_trend_charts_and_call_type_breakdown(
    data: PageData, world: World, client_for: Clients
) -> None:
    html = page(client_for(world.lead), f"/agents/{world.agent.pk}/")

    document = parse_html(html)
    kpi_table = find_all(document, "table", "data")[0]
    rows = {text(find(tr, "th")): tr for tr in find_all(find(kpi_table, "tbody"), "tr")}
    assert list(rows)[:4] == ["AHT", "FCR", "CSAT", "CSAT mean"]
    fcr, known = fcr_of(handled(world.agent, data.first, data.last))
    fcr_cell = read_cell(find(rows["FCR"], "td", "kpi"))
    assert (fcr_cell.value, fcr_cell.n) == (percent(fcr), known)
    assert "below target" in text(rows["FCR"])
    charts = find_all(document, "svg", "trend")
    assert len(charts) >= 4
    assert all(find_all(chart, "title") for chart in charts)
    titles = [text(find(chart, "title")) for chart in charts]
    assert "FCR per week; target band; team median dashed" in titles
    breakdown = [
        [text(td) for td in find_all(tr, "td")]
        for table in find_all(document, "table", "data")
        for tr in find_all(table, "tr")
        if find_all(tr, "td") and text(find_all(tr, "td")[1]) == "billing"
    ]
    billing = [c for c in handled(world.agent, data.first, data.last) if c.call_type == "billing"]
    fcr_billing = [line for line in breakdown if line[0] == "FCR"]
    assert fcr_billing, breakdown
    assert fcr_billing[0][2] == "0.0%"
    assert fcr_billing[0][4] == str(len(billing))
    assert fcr_billing[0][5] == "worse than the program"


def test_the_program_page_shows_queues_teams_side_by_side_distribution_and_attainment(
    data: PageData, world: World, client_for: Clients
) -> None:
    idle = Team.objects.create(program=world.care, code="care-c", name="Care C (new)")
    html = page(client_for(world.manager), f"/programs/{world.care.pk}/")
    # A team with nothing in the period is named under the table, with a link, not tabled.
    quiet = [p for p in find_all(parse_html(html), "p") if attr(p, "data-quiet-teams") is not None]
    assert len(quiet) == 1 and text(quiet[0]).endswith("Care C (new)")
    assert f'href="/teams/{idle.pk}/"' in html

    document = parse_html(html)
    tables = find_all(document, "table", "data")
    queues = tables[0]
    queue_names = [text(find(tr, "th")) for tr in find_all(find(queues, "tbody"), "tr")]
    assert queue_names == ["billing", "general"]
    abandoned = Interaction.objects.filter(program=world.care, answered=False).count()
    offered = Interaction.objects.filter(program=world.care).count()
    program_cells = [read_cell(td) for td in find_all(find(queues, "tfoot"), "td", "kpi")]
    assert program_cells[-1].value == percent(abandoned / offered)  # Abandoned
    assert program_cells[-1].n == offered

    teams = tables[1]
    team_rows = {
        text(find(tr, "th")): [read_cell(td) for td in find_all(tr, "td", "kpi")]
        for tr in find_all(find(teams, "tbody"), "tr")
    }
    assert list(team_rows) == ["Care A", "Care B"]
    for name, team in (("Care A", world.care_a), ("Care B", world.care_b)):
        fcr, known = fcr_of(list(Interaction.objects.filter(team=team, answered=True)))
        assert (team_rows[name][1].value, team_rows[name][1].n) == (percent(fcr), known)

    attainment = {text(find(tr, "th")): tr for tr in find_all(find(tables[2], "tbody"), "tr")}
    fcr_row = attainment["FCR"]
    dots = find_all(find(fcr_row, "svg", "dots"), "circle", "dot")
    assert len(dots) == 3  # Alice, Aaron, Bea: each with enough contacts
    values = [
        fcr_of(handled(agent, data.first, data.last))[0]
        for agent in (world.agent, world.agent2, world.care_b_agent)
    ]
    met = sum(1 for v in values if v >= 0.75)
    assert f"{met} / 3 ({round(100 * met / 3)}%)" in text(fcr_row)


# --- targets -----------------------------------------------------------------------------------


def target_post(**fields: Any) -> dict[str, Any]:
    return {
        "metric": "csat",
        "value": "0.8",
        "upper": "",
        "threshold": "",
        "team": "",
        "tenure_min_days": "",
        "tenure_max_days": "",
        "effective_from": "2026-12-01",
        **fields,
    }


def test_a_manager_adds_a_target_and_it_shows(
    data: PageData, world: World, client_for: Clients
) -> None:
    client = client_for(world.manager)
    path = f"/programs/{world.care.pk}/targets/"

    response = client.post(path, target_post())

    assert response.status_code == 302
    assert response["Location"] == path
    target = Target.objects.get(program=world.care, metric="csat", value=0.8)
    assert target.effective_from == dt.date(2026, 12, 1)
    assert target.created_by == world.user(world.manager)
    rows = [
        [text(cell) for cell in find_all(tr, "th") + find_all(tr, "td")]
        for tr in find_all(find(parse_html(page(client, path)), "tbody"), "tr")
    ]
    assert ["CSAT", "0.8", "—", "whole program", "2026-12-01"] in rows


def test_a_lead_may_not_add_a_target_and_nothing_is_created(
    data: PageData, world: World, client_for: Clients, counts: Counts
) -> None:
    client = client_for(world.lead)
    path = f"/programs/{world.care.pk}/targets/"
    assert client.get(path).status_code == 200  # they may read them
    before = counts()

    response = client.post(path, target_post())

    assert response.status_code == 403
    assert counts() == before


def test_a_target_without_a_value_answers_422_and_keeps_what_was_typed(
    data: PageData, world: World, client_for: Clients, counts: Counts
) -> None:
    client = client_for(world.manager)
    before = counts()

    response = client.post(
        f"/programs/{world.care.pk}/targets/",
        target_post(metric="aht", value="", threshold="600", effective_from="2026-12-07"),
    )

    assert response.status_code == 422
    assert counts() == before
    document = parse_html(response.content.decode())
    fields = {attr(e, "name"): e for e in walk(document) if e.name in ("input", "select")}
    assert attr(fields["effective_from"], "value") == "2026-12-07"
    assert attr(fields["threshold"], "value") == "600"
    selected = [
        attr(option, "value")
        for option in find_all(fields["metric"], "option")
        if "selected" in dict(option.attributes)
    ]
    assert selected == ["aht"]
    errors = [e for e in walk(document) if "has-error" in classes(e)]
    assert [attr(find(e, "label"), "for") for e in errors] == ["id_value"]
    assert "This field is required." in text(errors[0])


# --- exclusions --------------------------------------------------------------------------------


def test_a_manager_excludes_a_day_the_n_drops_the_dashboard_says_so_and_a_revert_restores_it(
    data: PageData,
    world: World,
    client_for: Clients,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    manager, lead = client_for(world.manager), client_for(world.lead)
    day = data.last - dt.timedelta(days=2)
    that_day = len(handled(world.agent, day, day))
    before = dashboard(page(lead, "/")).rows["Alice Agent"]["AHT"].n

    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(
            f"/programs/{world.care.pk}/exclusions/",
            {
                "kind": "day",
                "start": day.isoformat(),
                "end": day.isoformat(),
                "reason": "Telephony outage",
            },
        )

    assert response.status_code == 302
    exclusion = Exclusion.objects.get(program=world.care)
    html = page(lead, "/")
    assert dashboard(html).rows["Alice Agent"]["AHT"].n == before - that_day > 0
    note = find(parse_html(html), "p", "note")
    assert text(note).startswith("Left out of agent KPIs in this period:")
    assert (
        text(find(note, "span", "exclusion")) == f"whole days {day.isoformat()}: Telephony outage"
    )
    assert "Telephony outage" in page(manager, f"/programs/{world.care.pk}/exclusions/")

    confirm = page(manager, f"/exclusions/{exclusion.pk}/revert/")
    assert "Revert this exclusion?" in confirm
    exclusion.refresh_from_db()
    assert exclusion.reverted_at is None  # asking changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        reverted = manager.post(f"/exclusions/{exclusion.pk}/revert/")

    assert reverted.status_code == 302
    exclusion.refresh_from_db()
    assert exclusion.reverted_at is not None
    after = page(lead, "/")
    assert dashboard(after).rows["Alice Agent"]["AHT"].n == before
    assert "Telephony outage" not in after


def test_a_lead_may_not_exclude_or_revert_and_nothing_changes(
    data: PageData, world: World, client_for: Clients, counts: Counts
) -> None:
    exclusion = services.exclusion_create(
        program=world.care,
        kind="day",
        start=data.last,
        end=data.last,
        reason="outage",
        by=None,
    )
    client = client_for(world.lead)
    before = counts()

    excluded = client.post(
        f"/programs/{world.care.pk}/exclusions/",
        {
            "kind": "day",
            "start": data.first.isoformat(),
            "end": data.first.isoformat(),
            "reason": "x",
        },
    )
    reverted = client.post(f"/exclusions/{exclusion.pk}/revert/")

    assert (excluded.status_code, reverted.status_code) == (403, 403)
    assert counts() == before
    exclusion.refresh_from_db()
    assert exclusion.reverted_at is None


# --- outsiders ---------------------------------------------------------------------------------


def test_outsiders_get_404_on_every_kpi_page_and_nothing_changes(
    data: PageData, world: World, client_for: Clients, counts: Counts
) -> None:
    exclusion = services.exclusion_create(
        program=world.care, kind="day", start=data.last, end=data.last, reason="outage", by=None
    )
    services.rollups_apply_marks()
    contact = Interaction.objects.filter(agent=world.agent).first()
    assert contact is not None
    outsider = client_for(world.chat_lead)
    other_lead = client_for(world.other_lead)
    before = counts()

    for path in (
        f"/teams/{world.care_a.pk}/",
        f"/teams/{world.care_a.pk}/kpis.csv",
        f"/agents/{world.agent.pk}/",
        f"/programs/{world.care.pk}/",
        f"/programs/{world.care.pk}/targets/",
        f"/programs/{world.care.pk}/exclusions/",
        f"/exclusions/{exclusion.pk}/revert/",
        f"/interactions/{contact.pk}/",
    ):
        response = outsider.get(path)
        assert response.status_code == 404, path
        assert "Alice" not in response.content.decode()
    for path in (
        f"/programs/{world.care.pk}/targets/",
        f"/programs/{world.care.pk}/exclusions/",
        f"/exclusions/{exclusion.pk}/revert/",
    ):
        assert outsider.post(path, target_post(kind="day", reason="x")).status_code == 404, path
    for path in (
        f"/teams/{world.care_a.pk}/",
        f"/teams/{world.care_a.pk}/kpis.csv",
        f"/agents/{world.agent.pk}/",
        f"/interactions/{contact.pk}/",
    ):
        assert other_lead.get(path).status_code == 404, path

    assert counts() == before
    exclusion.refresh_from_db()
    assert exclusion.reverted_at is None
    assert outsider.get("/interactions/", {"agent": world.agent.pk}).status_code == 404
    listing = page(outsider, "/interactions/")
    assert listed_count(listing) == Interaction.objects.filter(agent=world.chat_agent).count()
    assert contact.external_id not in listing


# --- query counts ------------------------------------------------------------------------------


def queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(captured.captured_queries)


def test_the_dashboard_and_program_page_cost_the_same_queries_for_3_or_12_agents(
    data: PageData,
    world: World,
    client_for: Clients,
    django_assert_max_num_queries: Callable,
) -> None:
    add_agents(world.care_a, 1, last=data.last)
    services.rollups_rebuild()
    lead, manager = client_for(world.lead), client_for(world.manager)
    home = queries(lead, "/")
    team_page = queries(lead, f"/teams/{world.care_a.pk}/?sort=fcr&dir=desc")
    program = queries(manager, f"/programs/{world.care.pk}/")
    assert len(dashboard(page(lead, "/")).order) == 3

    add_agents(world.care_a, 9, last=data.last)
    services.rollups_rebuild()

    with django_assert_max_num_queries(home):
        response = lead.get("/")
    assert len(dashboard(response.content.decode()).order) == 12
    with django_assert_max_num_queries(team_page):
        lead.get(f"/teams/{world.care_a.pk}/?sort=fcr&dir=desc")
    with django_assert_max_num_queries(program):
        manager.get(f"/programs/{world.care.pk}/")


def test_the_agent_page_costs_the_same_queries_for_a_team_of_5_or_12(
    data: PageData,
    world: World,
    client_for: Clients,
    django_assert_max_num_queries: Callable,
) -> None:
    # From 5 agents the page adds the team's weekly median (one grouped query); below 5 there is
    # no median to show (CONTRACTS.md, Visibility), so both sizes here are at least 5.
    add_agents(world.care_a, 3, last=data.last)
    services.rollups_rebuild()
    lead = client_for(world.lead)
    path = f"/agents/{world.agent.pk}/"
    five = queries(lead, path)

    add_agents(world.care_a, 7, last=data.last)
    services.rollups_rebuild()

    with django_assert_max_num_queries(five):
        response = lead.get(path)
    assert response.status_code == 200
