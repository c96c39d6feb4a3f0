"""The Q-inflation event every verdict uses: max |Q| past max|r| / (1 − γ) of the run's data."""

from __future__ import annotations

import pytest

from seemrepro.datasets import load_subset
from seemrepro.engine.config import MonitorConfig, RunConfig, RunResult
from seemrepro.experiments.events import inflated_at, q_bound


def config(**changes: object) -> RunConfig:
    values: dict = {"algorithm": "td3", "dataset": "synthetic/2000", "steps": 10,
                    "subset": 0.5, "agent": {"gamma": 0.9},
                    "monitors": MonitorConfig(q_every=5)}
    values.update(changes)
    return RunConfig(**values)


def test_q_bound_is_the_largest_reward_of_the_runs_own_data_over_one_minus_gamma() -> None:
    c = config()
    expected = float(load_subset("synthetic/2000", 0.5).rewards.abs().max()) / 0.1
    assert q_bound(c) == pytest.approx(expected)
    assert q_bound(config(agent={"gamma": 0.99})) == pytest.approx(expected * 10)


def test_inflated_at_is_the_first_monitored_step_past_the_bound() -> None:
    c = config()
    bound = q_bound(c)
    rows = [(s, 0, "q_abs_max", v) for s, v in ((0, 1.0), (5, bound), (10, 2 * bound))]
    assert inflated_at(RunResult(c, rows, None, 0.0)) == 10  # reaching the bound is not passing it
    assert inflated_at(RunResult(c, rows[:2], None, 0.0)) is None


def test_online_runs_have_no_bound() -> None:
    with pytest.raises(ValueError, match="offline"):
        q_bound(RunConfig("sac", "online/Pendulum-v1", steps=10))
