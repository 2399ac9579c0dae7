"""Honest numbers (ARCHITECTURE.md): an agent is flagged only when the evidence is strong. Small
samples are shrunk toward their peers (beta-binomial for rates, normal-normal for means), every
singled-out figure carries a 90% interval, and the flag needs P(worse than target) >= 0.8."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from scipy import stats as scipy_stats

from coachloop.core.personas import World
from coachloop.metrics import services, stats
from coachloop.metrics.kpis import Status
from coachloop.metrics.models import PeerPrior
from coachloop.metrics.tests.factories import contacts, kpi, more_agents, rebuild
from coachloop.org.models import Person

DAY = dt.date(2026, 10, 5)
START, END = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
PEER_RATES = [0.74, 0.78, 0.80, 0.82, 0.84, 0.86]
PEER_CONTACTS = 300


def handled(agent: Person, world: World, *, count: int, resolved: int) -> None:
    """``count`` handled contacts of ``agent`` on DAY, the first ``resolved`` of them resolved."""
    if resolved:
        contacts(resolved, program=world.care, agent=agent, day=DAY, resolved=True)
    if count - resolved:
        contacts(count - resolved, program=world.care, agent=agent, day=DAY, resolved=False)


@pytest.fixture
def floor(world: World) -> World:
    """Six peers at 74-86% FCR on 300 contacts each; Alice at 40% on 400 (a clear gap); Aaron
    at 72.5% on 40 (slightly below, a modest sample); Bea with 6 contacts, none resolved."""
    for peer, rate in zip(
        more_agents(world, len(PEER_RATES), hire_date=dt.date(2026, 1, 5)), PEER_RATES, strict=True
    ):
        handled(peer, world, count=PEER_CONTACTS, resolved=round(rate * PEER_CONTACTS))
    handled(world.agent, world, count=400, resolved=160)
    handled(world.agent2, world, count=40, resolved=29)
    handled(world.care_b_agent, world, count=6, resolved=0)
    rebuild()
    return world


def fcr_of(world: World, agent: Person) -> object:
    return kpi(agent=agent, program=world.care, start=START, end=END, metric="fcr")


def test_the_peer_prior_comes_from_every_agent_with_enough_data(floor: World) -> None:
    prior = PeerPrior.objects.get(program=floor.care, metric="fcr")
    values = [*PEER_RATES, 0.40, 29 / 40]  # Bea's 6 contacts are under min_n (30)
    assert prior.agents == 8
    assert prior.mean == pytest.approx(sum(values) / len(values))
    noise = [rate * (1 - rate) / PEER_CONTACTS for rate in PEER_RATES]
    noise += [0.4 * 0.6 / 400, (29 / 40) * (11 / 40) / 40]
    observed = sum((v - prior.mean) ** 2 for v in values) / (len(values) - 1)
    assert prior.between_variance == pytest.approx(observed - sum(noise) / len(noise))
    assert prior.window_end == DAY
    assert prior.window_start == DAY - dt.timedelta(days=90)


def test_small_sample_agent_is_not_flagged_below_target(floor: World) -> None:
    services.target_set(
        program=floor.care, metric="fcr", value=0.75, effective_from=dt.date(2026, 1, 1), by=None
    )
    item = fcr_of(floor, floor.care_b_agent)
    assert (item.value, item.n) == (0.0, 6)
    assert item.status == Status.NOT_ENOUGH_DATA
    assert item.band == ""


def test_agent_with_a_large_clear_gap_is_flagged_below_target(floor: World) -> None:
    services.target_set(
        program=floor.care, metric="fcr", value=0.75, effective_from=dt.date(2026, 1, 1), by=None
    )
    item = fcr_of(floor, floor.agent)
    assert (item.value, item.n, item.numerator) == (0.4, 400, 160)
    assert item.status == Status.BELOW_TARGET
    assert item.band == "below"
    assert item.probability_worse is not None
    assert item.probability_worse >= 0.8
    assert item.interval is not None
    assert item.interval[1] < 0.75


def test_agent_slightly_below_target_with_a_modest_sample_is_not_flagged(floor: World) -> None:
    services.target_set(
        program=floor.care, metric="fcr", value=0.75, effective_from=dt.date(2026, 1, 1), by=None
    )
    item = fcr_of(floor, floor.agent2)
    assert (item.value, item.n) == (0.725, 40)
    assert item.status == Status.ON_TARGET
    assert item.band == ""
    assert item.probability_worse is not None
    assert 0.5 < item.probability_worse < 0.8
    assert item.interval is not None
    low, high = item.interval
    assert low < 0.725 < 0.75 < high


def test_a_small_samples_interval_is_shrunk_toward_the_peers(floor: World) -> None:
    item = fcr_of(floor, floor.care_b_agent)
    assert item.value == 0.0
    assert item.peer_value == pytest.approx(
        (sum(round(r * PEER_CONTACTS) for r in PEER_RATES) + 160 + 29)
        / (len(PEER_RATES) * PEER_CONTACTS + 400 + 40 + 6)
    )
    assert item.interval is not None
    low, high = item.interval
    middle = (low + high) / 2
    # Six misses alone would put the agent near 0; the peers pull the belief most of the way.
    assert item.value < middle < item.peer_value
    assert middle > item.peer_value / 2
    assert low > 0.0


def test_a_large_samples_interval_stays_near_its_own_value(floor: World) -> None:
    item = fcr_of(floor, floor.agent)
    assert item.interval is not None
    low, high = item.interval
    assert item.peer_value is not None
    assert item.value == 0.4
    assert 0.4 < (low + high) / 2 < item.peer_value
    assert abs((low + high) / 2 - 0.4) < 0.02
    assert high - low < 0.1


def test_a_threshold_gives_the_far_below_band(floor: World) -> None:
    services.target_set(
        program=floor.care,
        metric="fcr",
        value=0.75,
        threshold=0.6,
        effective_from=dt.date(2026, 1, 1),
        by=None,
    )
    assert fcr_of(floor, floor.agent).band == "far_below"
    assert fcr_of(floor, floor.agent2).band == ""


def test_without_five_agents_with_enough_data_nobody_is_shrunk(world: World) -> None:
    handled(world.agent, world, count=50, resolved=20)
    handled(world.agent2, world, count=50, resolved=45)
    handled(world.care_b_agent, world, count=50, resolved=40)
    rebuild()
    assert not PeerPrior.objects.filter(program=world.care, metric="fcr").exists()
    item = fcr_of(world, world.agent)
    low, high = scipy_stats.beta.ppf([0.05, 0.95], 0.5 + 20, 0.5 + 30)  # Jeffreys
    assert item.interval == pytest.approx((low, high))


# --- stats.py, by hand ---------------------------------------------------------------------


def test_between_variance_needs_five_agents() -> None:
    assert stats.between_variance([(0.5, 0.01)] * 4) is None
    # An agent with no usable estimate does not count toward the five.
    assert stats.between_variance([(0.5, 0.01)] * 4 + [(0.5, math.inf)]) is None


def test_between_variance_is_the_observed_spread_less_the_average_noise() -> None:
    estimates = [(1.0, 0.1), (2.0, 0.2), (3.0, 0.1), (4.0, 0.2), (5.0, 0.4)]
    # Sample variance of 1..5 is 2.5; the average noise is 0.2.
    assert stats.between_variance(estimates) == pytest.approx(2.3)


def test_between_variance_keeps_a_floor_when_the_noise_explains_the_spread() -> None:
    estimates = [(float(x), 10.0) for x in range(1, 6)]
    assert stats.between_variance(estimates) == pytest.approx(2.5 * 0.05)
    assert stats.between_variance([(3.0, 0.0)] * 5) == pytest.approx(1e-12)


def test_rate_posterior_is_the_peer_beta_updated_by_the_agents_counts() -> None:
    # Peers at 0.8 with between-agent variance 0.01: strength 0.16 / 0.01 - 1 = 15, so the
    # prior is Beta(12, 3); 7 of 10 resolved makes it Beta(19, 6).
    posterior = stats.rate_posterior(successes=7, trials=10, prior=stats.Prior(0.8, 0.01))
    assert posterior.family == "beta"
    assert (posterior.a, posterior.b) == pytest.approx((19, 6))
    assert posterior.mean == pytest.approx(19 / 25)
    low, high = scipy_stats.beta.ppf([0.05, 0.95], 19, 6)
    assert posterior.interval() == pytest.approx((low, high))
    assert posterior.cdf(0.75) == pytest.approx(scipy_stats.beta.cdf(0.75, 19, 6))


def test_rate_posterior_without_peers_is_jeffreys() -> None:
    posterior = stats.rate_posterior(successes=7, trials=10, prior=None)
    assert (posterior.a, posterior.b) == (7.5, 3.5)


def test_rate_posterior_keeps_a_minimum_prior_strength() -> None:
    # A spread wider than a coin's (0.25 / 0.5 - 1 < 0.5) still gives a proper prior of weight 0.5.
    posterior = stats.rate_posterior(successes=0, trials=0, prior=stats.Prior(0.5, 0.5))
    assert (posterior.a, posterior.b) == (0.25, 0.25)


def test_normal_posterior_weights_estimate_and_peers_by_precision() -> None:
    # Peers 100 with between-agent variance 400; the agent's 160 has sampling variance 100:
    # precision 1/400 + 1/100 = 0.0125, mean (100/400 + 160/100) / 0.0125 = 148.
    posterior = stats.normal_posterior(estimate=160, variance=100, prior=stats.Prior(100, 400))
    assert posterior.family == "normal"
    assert posterior.mean == pytest.approx(148)
    assert posterior.b == pytest.approx(math.sqrt(80))


def test_normal_posterior_edge_cases() -> None:
    no_peers = stats.normal_posterior(estimate=160, variance=100, prior=None)
    assert (no_peers.a, no_peers.b) == (160, 10)
    no_data = stats.normal_posterior(estimate=160, variance=math.inf, prior=stats.Prior(100, 400))
    assert (no_data.a, no_data.b) == (100, 20)
    exact = stats.normal_posterior(estimate=160, variance=0.0, prior=stats.Prior(100, 400))
    assert (exact.a, exact.b) == (160, 0.0)


def test_probability_worse_follows_the_metrics_direction() -> None:
    belief = stats.Posterior("normal", 0.0, 1.0)
    # Lower is better: worse means above the target.
    assert stats.probability_worse(belief, direction="lower", target=0.0) == pytest.approx(0.5)
    assert stats.probability_worse(belief, direction="lower", target=1.6448536) == pytest.approx(
        0.05
    )
    # Higher is better: worse means below the target.
    assert stats.probability_worse(belief, direction="higher", target=-1.6448536) == (
        pytest.approx(0.05)
    )
    assert stats.probability_worse(belief, direction="higher", target=1.6448536) == (
        pytest.approx(0.95)
    )
    # A range: worse means outside it, on either side.
    assert stats.probability_worse(
        belief, direction="range", target=-1.0, upper=1.0
    ) == pytest.approx(0.3173105)
    assert stats.probability_worse(
        belief, direction="range", target=-1.0, upper=None
    ) == pytest.approx(0.1586553)


def test_sampling_variance_of_a_mean() -> None:
    # 2, 4, 6: mean 4, s^2 = 4, variance of the mean 4 / 3.
    assert stats.mean_variance(total=12, square=56, n=3) == pytest.approx(4 / 3)
    assert stats.mean_variance(total=12, square=56, n=3, scale=100) == pytest.approx(40_000 / 3)
    assert stats.mean_variance(total=5, square=25, n=1) == math.inf
