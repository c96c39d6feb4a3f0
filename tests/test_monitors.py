"""The monitor protocol: a new monitor is one class, registered once; built-ins keep their order."""

from __future__ import annotations

from collections.abc import Iterator

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
