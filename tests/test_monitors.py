"""The monitor protocol: a new monitor is one class, registered once; built-ins keep their order."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from seemrepro.engine import MonitorConfig, RunConfig, train
from seemrepro.engine.monitors import MONITORS, Monitor, RunView, build_monitors, register_monitor


class ActionNorm(Monitor):
    """Mean norm of the policy's actions on X (a stand-in for a user's own monitor)."""

    name = "action_norm"

    def __call__(self, run: RunView, step: int) -> dict[str, float]:
        with torch.no_grad():
            return {"action_norm": float(run.actor(run.x.states).norm(dim=-1).mean())}


@pytest.fixture
def registered() -> Iterator[None]:
    register_monitor(ActionNorm)
    yield
    MONITORS.pop(ActionNorm.name)


def test_builtin_monitors_in_recording_order() -> None:
    names = [m.name for m in build_monitors(MonitorConfig(seem_every=5, eval_every=5,
                                                          snapshot_every=5))]
    assert names == ["q", "seem", "eval", "snapshot"]
    assert [m.name for m in build_monitors(MonitorConfig())] == ["q", "seem"]


def test_a_new_monitor_is_one_registered_class(registered: None) -> None:
    monitors = MonitorConfig(q_every=10, seem_every=0, extra={"action_norm": 5})
    config = RunConfig("td3", "synthetic/200", steps=20, batch_size=16, monitors=monitors,
                       agent={"critic": {"hidden": [16]}, "actor_hidden": [16]})
    (result,) = train(config, progress=False)
    steps, values = result.series("action_norm")
    assert list(steps) == [0, 5, 10, 15, 20] and (values > 0).all()


def test_unknown_or_duplicate_monitors_are_refused(registered: None) -> None:
    with pytest.raises(ValueError, match="unknown monitor"):
        build_monitors(MonitorConfig(extra={"nosuch": 5}))

    class Other(ActionNorm):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register_monitor(Other)


# -- the SEEM monitor's fixed X ------------------------------------------------------------------
class _OneCriticAgent:
    """Just enough of an agent for the SEEM monitor: one critic, a fixed policy, a γ."""

    def __init__(self, critic: torch.nn.Module, action_dim: int, gamma: float) -> None:
        self.critic, self.action_dim, self.gamma = critic, action_dim, gamma

    def critic_of(self, index: int) -> torch.nn.Module:
        return self.critic

    def actor_of(self, index: int) -> Any:
        return lambda states: torch.zeros(states.shape[0], self.action_dim)

    def config_of(self, index: int) -> Any:
        return SimpleNamespace(gamma=self.gamma)


def _monitored_seem(data: Any, x: Any, gamma: float) -> float:
    from seemrepro.critics import make_critic
    from seemrepro.engine.config import MonitorConfig
    from seemrepro.engine.monitors import SEEMMonitor

    critic = make_critic(data.state_dim + data.action_dim, (64, 64), seed=0)
    agent = _OneCriticAgent(critic, data.action_dim, gamma)
    view = RunView(agent, 0, 0, x, None, MonitorConfig())  # type: ignore[arg-type]
    return SEEMMonitor(1)(view, 0)["seem"]


def test_monitor_set_draws_distinct_transitions_and_warns_when_too_large() -> None:
    from seemrepro.datasets.resolve import synthetic
    from seemrepro.engine.data import MonitorSetWarning, monitor_set

    data = synthetic(40, 3, 2)
    x = monitor_set(data, 40, seed=0)  # with replacement, 40 of 40 would repeat ~15 rows
    rows = torch.cat([x.states, x.actions], dim=1)
    assert torch.unique(rows, dim=0).shape[0] == 40
    assert torch.equal(monitor_set(data, 16, seed=3).states, monitor_set(data, 16, seed=3).states)
    with pytest.warns(MonitorSetWarning, match="only 40"):
        assert len(monitor_set(data, 100, seed=0).states) == 40
    with pytest.raises(ValueError, match="at least one"):
        monitor_set(data, 0, seed=0)


def test_a_negative_seem_on_distinct_rows_reads_negative_in_the_monitor() -> None:
    # γ = 0: A = −G(X, X), negative definite for distinct rows when P ≥ M, so SEEM < 0; one
    # repeated row makes A singular and the same critic's SEEM reads as zero.
    from seemrepro.datasets.resolve import synthetic
    from seemrepro.engine.data import monitor_set

    data = synthetic(64, 3, 2)
    x = monitor_set(data, 32, seed=0)
    distinct = _monitored_seem(data, x, gamma=0.0)
    assert distinct < 0
    repeated = data.batch(torch.cat([torch.arange(31), torch.tensor([0])]))
    assert abs(_monitored_seem(data, repeated, gamma=0.0)) < 1e-6 * abs(distinct)
