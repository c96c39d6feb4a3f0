"""The monitor protocol: a name, an interval, and a call that returns metrics.

A monitor watches one seed of a run. The engine calls it at every step that is a multiple of
its interval (and at the run's last step) with a :class:`RunView` — the agent, which of its
seeds, the fixed monitoring set X and the run's data — and records the metrics it returns as
tidy rows. A monitor that keeps state between calls (snapshots) returns it from
:meth:`Monitor.state_dict`, so that it survives a checkpoint, and may add rows when the run
ends (:meth:`Monitor.finish`). A new monitor is one new file: subclass :class:`Monitor`, set
``name`` and decorate it with :func:`register_monitor`; its interval comes from
``MonitorConfig.<name>_every`` or ``MonitorConfig.extra[name]``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from seemrepro.engine.config import MonitorConfig, Row
from seemrepro.rl.buffers import Batch

if TYPE_CHECKING:
    from seemrepro.engine.data import Prepared
    from seemrepro.rl.agents import Agent


@dataclass
class RunView:
    """What a monitor sees of one seed of a (possibly batched) run."""

    agent: Agent
    index: int  # which of the agent's seeds
    seed: int
    x: Batch  # the fixed monitoring set X, in the agent's (standardized) state space
    prepared: Prepared
    config: MonitorConfig

    @property
    def agent_config(self) -> Any:
        """This seed's own agent config (members of a batch may differ in γ, for example)."""
        return self.agent.config_of(self.index)

    @property
    def critic(self) -> Any:
        """This seed's first critic, as a plain module ``f(x) -> (N,)``."""
        return self.agent.critic_of(self.index)

    @property
    def actor(self) -> Any:
        """This seed's policy, as a plain module."""
        return self.agent.actor_of(self.index)


class Monitor(ABC):
    """Metrics of one seed every ``every`` steps (0: never)."""

    name: ClassVar[str]
    # a step's metrics are recorded in this order; Q comes first because it detects divergence
    order: ClassVar[int] = 100

    def __init__(self, every: int) -> None:
        if every < 0:
            raise ValueError(f"monitor {self.name!r}: interval must be non-negative, got {every}")
        self.every = every

    def due(self, step: int, last_step: int) -> bool:
        return self.every > 0 and (step % self.every == 0 or step == last_step)

    @abstractmethod
    def __call__(self, run: RunView, step: int) -> dict[str, float]:
        """The metrics at ``step``."""

    def finish(self, run: RunView) -> list[Row]:
        """Rows added when the run ends (after its last step or at divergence)."""
        return []

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


M = TypeVar("M", bound=type[Monitor])
MONITORS: dict[str, type[Monitor]] = {}


def register_monitor(cls: M) -> M:
    """Class decorator: make a monitor available to every run."""
    if cls.name in MONITORS and MONITORS[cls.name] is not cls:
        raise ValueError(f"a monitor named {cls.name!r} is already registered")
    MONITORS[cls.name] = cls
    return cls


def build_monitors(config: MonitorConfig) -> list[Monitor]:
    """One instance of every registered monitor that ``config`` turns on, by ``order``."""
    unknown = sorted(set(config.extra) - set(MONITORS))
    if unknown:
        raise ValueError(f"unknown monitor(s) {unknown}; registered: {', '.join(MONITORS)}")
    monitors = []
    for name, cls in sorted(MONITORS.items(), key=lambda item: item[1].order):
        every = config.interval(name)
        if every:
            monitors.append(cls(every))
    return monitors
