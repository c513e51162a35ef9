"""GCRA: exact cases, the window edge, and properties over any arrival pattern."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.tenancy.limits.gcra import Decision, decide

rates = st.floats(min_value=0.1, max_value=1000.0, allow_nan=False, allow_infinity=False)
bursts = st.integers(min_value=1, max_value=50)
gaps = st.lists(st.floats(min_value=0.0, max_value=2.0, allow_nan=False), max_size=300)


def run(arrivals: list[float], rate: float, burst: int) -> list[bool]:
    """Feed arrivals (absolute times, ascending) through GCRA; which were admitted."""
    tat, admitted = 0.0, []
    for now in arrivals:
        decision = decide(tat, now, rate, burst)
        tat = decision.tat
        admitted.append(decision.allowed)
    return admitted


def times(start: float, deltas: list[float]) -> list[float]:
    moments, now = [], start
    for delta in deltas:
        now += delta
        moments.append(now)
    return moments


def test_a_burst_passes_at_once_then_the_rate_applies() -> None:
    admitted = run([10.0] * 7, rate=2.0, burst=5)
    assert admitted == [True] * 5 + [False] * 2
    first = decide(0.0, 10.0, 2.0, 5)
    assert first == Decision(True, 10.5, 0.0, 4, 0.5)


def test_a_refusal_says_when_to_retry_and_changes_nothing() -> None:
    tat = 10.0 + 5 * 0.5  # a full burst of 5 at rate 2 taken at t=10
    refused = decide(tat, 10.0, 2.0, 5)
    assert not refused.allowed and refused.tat == tat and refused.remaining == 0
    assert refused.retry_after == pytest.approx(0.5)
    assert refused.reset == pytest.approx(2.5)
    later = decide(tat, 10.0 + refused.retry_after, 2.0, 5)
    assert later.allowed and later.remaining == 0


def test_the_window_edge_admits_at_most_limit_plus_burst() -> None:
    # rate 10/s, burst 5: a full burst just before a one-second window, the window hammered
    # at 1 kHz, and a burst again at its closing edge.
    rate, burst = 10.0, 5
    arrivals = [0.999] * burst + [1.0 + i / 1000 for i in range(1001)]
    admitted = run(arrivals, rate, burst)
    in_window = sum(a for a, t in zip(admitted, arrivals, strict=True) if 1.0 <= t <= 2.0)
    assert in_window <= rate * 1.0 + burst
    assert sum(admitted) <= rate * (arrivals[-1] - arrivals[0]) + burst
    assert in_window == 10  # the burst was spent before the window: only the rate is left


def test_cost_takes_several_requests() -> None:
    decision = decide(0.0, 0.0, 1.0, 10, cost=4)
    assert decision.allowed and decision.remaining == 6
    assert not decide(decision.tat, 0.0, 1.0, 10, cost=7).allowed


@pytest.mark.parametrize(
    ("rate", "burst", "cost"),
    [(0.0, 1, 1), (-1.0, 1, 1), (math.inf, 1, 1), (math.nan, 1, 1), (1.0, 0, 1), (1.0, 2, 3)],
)
def test_bad_parameters_are_refused(rate: float, burst: int, cost: int) -> None:
    with pytest.raises(ValueError, match="must"):
        decide(0.0, 0.0, rate, burst, cost)


@given(rate=rates, burst=bursts, deltas=gaps, start=st.floats(min_value=0, max_value=1e6))
def test_no_window_admits_more_than_limit_plus_burst(
    rate: float, burst: int, deltas: list[float], start: float
) -> None:
    arrivals = times(start, deltas)
    admitted = [t for t, ok in zip(arrivals, run(arrivals, rate, burst), strict=True) if ok]
    for i, first in enumerate(admitted):
        for j in range(i, len(admitted)):
            window = admitted[j] - first
            assert j - i + 1 <= math.floor(rate * window + 1e-6) + burst


@given(rate=rates, burst=bursts, count=st.integers(1, 300), slack=st.floats(1.0, 3.0))
def test_a_steady_rate_within_the_limit_always_passes(
    rate: float, burst: int, count: int, slack: float
) -> None:
    spacing = slack / rate  # at most the limit's rate
    assert all(run([1000.0 + i * spacing for i in range(count)], rate, burst))


@given(rate=rates, burst=bursts, deltas=gaps)
def test_remaining_and_reset_are_consistent(rate: float, burst: int, deltas: list[float]) -> None:
    tat = 0.0
    for now in times(5.0, deltas):
        decision = decide(tat, now, rate, burst)
        assert 0 <= decision.remaining < burst
        assert decision.reset >= 0 and decision.retry_after >= 0
        if decision.allowed:
            # exactly ``remaining`` more requests would pass at this instant
            probe, passed = decision.tat, 0
            while (step := decide(probe, now, rate, burst)).allowed:
                probe, passed = step.tat, passed + 1
            assert passed == decision.remaining
        tat = decision.tat
