"""Offline and online agents sharing one critic, one buffer and one update skeleton."""

from __future__ import annotations

from seemrepro.rl.agents.base import Agent, AgentConfig
from seemrepro.rl.agents.cql import CQL, CQLConfig
from seemrepro.rl.agents.diffql import DiffQL, DiffQLConfig
from seemrepro.rl.agents.iql import IQL, IQLConfig
from seemrepro.rl.agents.sac import SAC, SACConfig
from seemrepro.rl.agents.td3 import TD3, TD3Config

# name -> (agent class, default overrides); "td3bc" is TD3 with the TD3+BC paper's α = 2.5.
ALGORITHMS: dict[str, tuple[type[Agent], dict[str, object]]] = {
    "td3": (TD3, {}),
    "td3bc": (TD3, {"bc_alpha": 2.5}),
    "iql": (IQL, {}),
    "cql": (CQL, {}),
    "sac": (SAC, {}),
    "diffql": (DiffQL, {}),
}
ONLINE = frozenset({"sac"})


def agent_class(algorithm: str) -> type[Agent]:
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
    return ALGORITHMS[algorithm][0]


def make_config(algorithm: str, options: dict[str, object] | None = None) -> AgentConfig:
    """The algorithm's config with its defaults, then ``options`` (nested ``critic`` dict ok)."""
    cls = agent_class(algorithm)
    values = {**ALGORITHMS[algorithm][1], **(options or {})}
    return cls.config_class.from_dict(values)


__all__ = [
    "ALGORITHMS",
    "CQL",
    "IQL",
    "ONLINE",
    "SAC",
    "TD3",
    "Agent",
    "AgentConfig",
    "CQLConfig",
    "DiffQL",
    "DiffQLConfig",
    "IQLConfig",
    "SACConfig",
    "TD3Config",
    "agent_class",
    "make_config",
]
