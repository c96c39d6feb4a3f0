"""The divergence signals beside SEEM: parameter-norm growth, srank, dormant units, Q churn."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from seemrepro.core.critics import make_critic, parameter_count
from seemrepro.datasets.resolve import synthetic
from seemrepro.engine import MonitorConfig, RunConfig, RunResult, RunStore, train
from seemrepro.engine.data import Prepared, monitor_set
from seemrepro.engine.monitors import (
    ChurnMonitor,
    DormantMonitor,
    NormGrowthMonitor,
    RunView,
    SRankMonitor,
    build_monitors,
    dormant_fraction,
    effective_rank,
    held_out_set,
    hidden_activations,
)
from seemrepro.rl.buffers import TransitionBuffer

SIGNALS = ("norm_growth", "srank", "dormant", "churn")
WIDTH = 16


def tiny_config(every: int = 5, steps: int = 20, checkpoint_every: int = 0) -> RunConfig:
    monitors = MonitorConfig(q_every=every, seem_every=0, seem_samples=64,
                             checkpoint_every=checkpoint_every, extra=dict.fromkeys(SIGNALS, every))
    return RunConfig("td3", "synthetic/200", steps=steps, batch_size=16, monitors=monitors,
                     agent={"critic": {"hidden": [WIDTH, WIDTH]}, "actor_hidden": [WIDTH]})


@pytest.fixture(scope="module")
def tiny_run() -> RunResult:
    (result,) = train(tiny_config(), progress=False)
    return result


# -- off by default ------------------------------------------------------------------------------
def test_the_signal_monitors_are_off_unless_turned_on() -> None:
    assert [m.name for m in build_monitors(MonitorConfig())] == ["q", "seem"]
    on = build_monitors(MonitorConfig(extra=dict.fromkeys(SIGNALS, 7)))
    assert [m.name for m in on] == ["q", "seem", *SIGNALS] and all(m.every == 7 for m in on[2:])


# -- on a tiny training run ----------------------------------------------------------------------
def test_signals_on_a_tiny_run_have_their_ranges(tiny_run: RunResult) -> None:
    steps, srank = tiny_run.series("srank")
    assert list(steps) == [0, 5, 10, 15, 20]
    assert np.all((srank >= 1) & (srank <= WIDTH)) and np.all(srank == np.round(srank))
    assert np.all(tiny_run.series("srank_width")[1] == WIDTH)
    for key in ("dormant_ratio", "dormant_ratio_zero"):
        steps, ratio = tiny_run.series(key)
        assert list(steps) == [0, 5, 10, 15, 20] and np.all((ratio >= 0) & (ratio <= 1))
    # τ = 0.025 counts every exactly-zero unit and possibly more
    assert np.all(tiny_run.series("dormant_ratio")[1] >= tiny_run.series("dormant_ratio_zero")[1])
    steps, churn = tiny_run.series("q_churn")
    assert list(steps) == [5, 10, 15, 20]  # the first call only remembers Q
    assert np.all(np.isfinite(churn)) and np.all(churn > 0)  # every interval trains the critic


def test_norm_growth_is_the_difference_of_the_recorded_norms(tiny_run: RunResult) -> None:
    norm_steps, norms = tiny_run.series("param_norm")
    steps, growth = tiny_run.series("param_norm_growth")
    assert list(norm_steps) == [0, 5, 10, 15, 20] and list(steps) == [5, 10, 15, 20]
    np.testing.assert_allclose(growth, np.diff(norms) / 5, rtol=0, atol=1e-12)


def test_stateful_signals_resume_exactly(tmp_path: Path) -> None:
    cfg = tiny_config(steps=30, checkpoint_every=10)
    (reference,) = train(cfg, store=RunStore(tmp_path / "a"), progress=False)
    store = RunStore(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):  # the last checkpoint is at step 20
        train(cfg, store=store, progress=False, interrupt_at=27)
    (resumed,) = train(cfg, store=store, progress=False)
    assert resumed.rows == reference.rows
    assert len(resumed.series("q_churn")[0]) == 6 and len(resumed.series("param_norm_growth")[0]) == 6


# -- hand-built cases ----------------------------------------------------------------------------
class _FixedAgent:
    """One critic and a zero policy, enough for a RunView."""

    def __init__(self, critic: torch.nn.Module, action_dim: int) -> None:
        self.critic, self.action_dim = critic, action_dim

    def critic_of(self, index: int) -> torch.nn.Module:
        return self.critic

    def actor_of(self, index: int) -> Any:
        return lambda states: torch.zeros(states.shape[0], self.action_dim)

    def config_of(self, index: int) -> Any:
        return SimpleNamespace(gamma=0.99)


def _view(critic: torch.nn.Module, data: TransitionBuffer, m: int = 32) -> RunView:
    prepared = Prepared(data, torch.zeros(data.state_dim), torch.ones(data.state_dim), None, data)
    return RunView(_FixedAgent(critic, data.action_dim), 0, 0,  # type: ignore[arg-type]
                   monitor_set(data, m, seed=0), prepared, MonitorConfig())


def _linear(critic: torch.nn.Module, index: int) -> torch.nn.Linear:
    layer = critic.net[index]  # type: ignore[index]
    assert isinstance(layer, torch.nn.Linear)
    return layer


def test_effective_rank_of_hand_built_matrices() -> None:
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(50, 2, generator=g), torch.randn(2, 8, generator=g)
    assert effective_rank(u @ v) == 2
    assert effective_rank(torch.eye(6)) == 6  # equal singular values: every one is needed
    # σ = (1, 0.005): the first carries 1/1.005 > 99 % of the mass; σ = (1, 0.02) does not
    assert effective_rank(torch.diag(torch.tensor([1.0, 0.005]))) == 1
    assert effective_rank(torch.diag(torch.tensor([1.0, 0.02]))) == 2
    assert effective_rank(torch.zeros(5, 3)) == 0


def test_dormant_fraction_of_hand_built_activations() -> None:
    layer = torch.ones(10, 4)
    layer[:, 0] = 0.0  # always zero: dormant at any τ ≥ 0
    layer[:, 1] = 0.01  # silent-ish: score 0.01 / 0.5025 ≈ 0.020 ≤ 0.025, but not zero
    assert dormant_fraction([layer], tau=0.0) == pytest.approx(1 / 4)
    assert dormant_fraction([layer], tau=0.025) == pytest.approx(2 / 4)
    # over layers the count is pooled: 2 of 4 plus 0 of 4 units
    assert dormant_fraction([layer, torch.ones(10, 4)], tau=0.025) == pytest.approx(2 / 8)
    assert dormant_fraction([torch.zeros(10, 3)], tau=0.0) == 1.0  # a dead layer is all dormant


def test_hidden_activations_are_the_relu_outputs() -> None:
    critic = make_critic(5, (8, 6), seed=0)
    inputs = torch.randn(20, 5, generator=torch.Generator().manual_seed(1))
    first, last = hidden_activations(critic, inputs)
    lin1, lin2 = _linear(critic, 0), _linear(critic, 2)
    expected_first = torch.relu(lin1(inputs))
    torch.testing.assert_close(first, expected_first)
    torch.testing.assert_close(last, torch.relu(lin2(expected_first)))
    assert not any(m._forward_hooks for m in critic.modules())  # the hooks are removed


def test_srank_and_dormant_monitors_read_a_hand_built_critic() -> None:
    data = synthetic(100, 3, 2)
    critic = make_critic(5, (8, 8), seed=0)
    last = _linear(critic, 2)
    with torch.no_grad():
        # last hidden layer W = v wᵀ with v > 0 and no bias: φ = relu(v (w·h)) = v relu(w·h),
        # rank 1; unit 0 gets v_0 = 0 on top, so it is zero on every input (dormant)
        v = torch.linspace(0.0, 1.0, 8)
        last.weight.copy_(torch.outer(v, torch.randn(8, generator=torch.Generator().manual_seed(2))))
        last.bias.zero_()
    view = _view(critic, data)
    assert SRankMonitor(1)(view, 0) == {"srank": 1.0, "srank_width": 8.0}
    features = hidden_activations(critic, torch.cat([view.x.states, view.x.actions], dim=-1))
    assert (features[1][:, 0] == 0).all()
    dormant = DormantMonitor(1)(view, 0)
    zero_first = int((features[0].abs().mean(0) == 0).sum())
    assert dormant["dormant_ratio_zero"] == pytest.approx((zero_first + 1) / 16)
    assert dormant["dormant_ratio"] >= dormant["dormant_ratio_zero"]


def test_norm_growth_of_a_hand_set_critic() -> None:
    data = synthetic(40, 3, 2)
    critic = make_critic(5, (4,), seed=0)
    view, monitor = _view(critic, data), NormGrowthMonitor(10)
    torch.nn.utils.vector_to_parameters(torch.zeros(parameter_count(critic)), critic.parameters())
    assert monitor(view, 0) == {}  # nothing to compare with yet
    torch.nn.utils.vector_to_parameters(torch.ones(parameter_count(critic)), critic.parameters())
    growth = monitor(view, 10)["param_norm_growth"]
    assert growth == pytest.approx(np.sqrt(parameter_count(critic)) / 10)
    # a fresh monitor given the saved state continues where the first left off
    resumed = NormGrowthMonitor(10)
    resumed.load_state_dict(monitor.state_dict())
    assert resumed(view, 15)["param_norm_growth"] == pytest.approx(0.0)


def test_churn_is_zero_for_an_unchanged_critic_and_tracks_a_shift() -> None:
    data = synthetic(100, 3, 2)
    critic = make_critic(5, (8, 8), seed=0)
    view, monitor = _view(critic, data), ChurnMonitor(5)
    assert monitor(view, 0) == {}
    assert monitor(view, 5) == {"q_churn": 0.0}
    with torch.no_grad():  # shifting the output bias by 0.3 moves every Q by 0.3
        _linear(critic, -1).bias.add_(0.3)
    saved = monitor.state_dict()
    assert monitor(view, 10)["q_churn"] == pytest.approx(0.3, abs=1e-6)
    resumed = ChurnMonitor(5)
    resumed.load_state_dict(saved)
    assert resumed(view, 10)["q_churn"] == pytest.approx(0.3, abs=1e-6)


def test_held_out_set_is_fixed_and_disjoint_from_x() -> None:
    data = synthetic(100, 3, 2)
    x = monitor_set(data, 32, seed=0)
    held = held_out_set(data, x, 50, seed=0)
    rows = {tuple(r) for r in torch.cat([held.states, held.actions], dim=-1).tolist()}
    x_rows = {tuple(r) for r in torch.cat([x.states, x.actions], dim=-1).tolist()}
    assert len(rows) == 50 and not rows & x_rows
    assert torch.equal(held_out_set(data, x, 50, seed=0).states, held.states)
    assert not torch.equal(held_out_set(data, x, 50, seed=1).states, held.states)
    assert len(held_out_set(data, x, 500, seed=0).states) == 68  # all that X leaves
    with pytest.raises(ValueError, match="seem_samples"):
        held_out_set(data, monitor_set(data, 100, seed=0), 10, seed=0)
