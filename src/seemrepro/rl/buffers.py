"""Transition storage shared by every agent: a fixed offline buffer and a growing online one."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch

STD_FLOOR = 1e-3


@dataclass(frozen=True)
class Batch:
    """A minibatch; ``dones`` is 1.0 where the next state is terminal (no bootstrapping)."""

    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_states: torch.Tensor
    dones: torch.Tensor

    @property
    def critic_inputs(self) -> torch.Tensor:
        """The critic's input rows ``(s, a)`` with the data's own actions, shape (N, S + A)."""
        return torch.cat([self.states, self.actions], dim=-1)


@dataclass(frozen=True)
class TransitionBuffer:
    """An offline dataset as flat transitions.

    ``terminals`` marks true ends (no bootstrap); ``timeouts`` marks truncations (bootstrap
    allowed); ``episode_starts`` holds the index of each episode's first transition.
    ``metadata`` carries the dataset id, environment id and reference scores when known.
    """

    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_states: torch.Tensor
    terminals: torch.Tensor
    timeouts: torch.Tensor
    episode_starts: torch.Tensor
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        n = self.states.shape[0]
        for f in ("actions", "rewards", "next_states", "terminals", "timeouts"):
            if getattr(self, f).shape[0] != n:
                raise ValueError(f"{f} has {getattr(self, f).shape[0]} rows, states has {n}")

    def __len__(self) -> int:
        return int(self.states.shape[0])

    @property
    def state_dim(self) -> int:
        return int(self.states.shape[1])

    @property
    def action_dim(self) -> int:
        return int(self.actions.shape[1])

    def state_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-dimension mean and std of the states, the std floored at 1e-3."""
        return self.states.mean(0), self.states.std(0).clamp_min(STD_FLOOR)

    def to(self, device: torch.device | str) -> TransitionBuffer:
        moved = {f.name: getattr(self, f.name).to(device) for f in fields(self)
                 if isinstance(getattr(self, f.name), torch.Tensor)}
        return replace(self, **moved)

    def select(self, indices: torch.Tensor) -> TransitionBuffer:
        """The transitions at ``indices`` (episode structure is not kept)."""
        idx = indices.to(self.states.device)
        return replace(
            self, states=self.states[idx], actions=self.actions[idx], rewards=self.rewards[idx],
            next_states=self.next_states[idx], terminals=self.terminals[idx],
            timeouts=self.timeouts[idx],
            episode_starts=torch.zeros(0, dtype=torch.long, device=self.states.device),
            metadata={**self.metadata, "subset_of": len(self)},
        )

    def batch(self, indices: torch.Tensor) -> Batch:
        return Batch(self.states[indices], self.actions[indices], self.rewards[indices],
                     self.next_states[indices], self.terminals[indices].to(self.rewards.dtype))

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        idx = torch.randint(0, len(self), (batch_size,), generator=generator)
        return self.batch(idx.to(self.states.device))


class ReplayBuffer:
    """A growing ring buffer for online training, stored as NumPy arrays."""

    def __init__(self, capacity: int, state_dim: int, action_dim: int) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self.states = np.zeros((capacity, state_dim), dtype=np.float32)
        self.actions = np.zeros((capacity, action_dim), dtype=np.float32)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.next_states = np.zeros((capacity, state_dim), dtype=np.float32)
        self.dones = np.zeros(capacity, dtype=np.float32)
        self.size = 0
        self.position = 0

    def __len__(self) -> int:
        return self.size

    def add(self, state: np.ndarray, action: np.ndarray, reward: float,
            next_state: np.ndarray, terminal: bool) -> None:
        i = self.position
        self.states[i], self.actions[i], self.rewards[i] = state, action, reward
        self.next_states[i], self.dones[i] = next_state, float(terminal)
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    _ARRAYS = ("states", "actions", "rewards", "next_states", "dones")

    def state_dict(self) -> dict[str, Any]:
        """Arrays and counters only (no pickled object), for checkpoints."""
        return {"capacity": self.capacity, "size": self.size, "position": self.position,
                **{name: getattr(self, name) for name in self._ARRAYS}}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> ReplayBuffer:
        buffer = cls(int(state["capacity"]), state["states"].shape[1], state["actions"].shape[1])
        for name in cls._ARRAYS:
            getattr(buffer, name)[...] = state[name]
        buffer.size, buffer.position = int(state["size"]), int(state["position"])
        return buffer

    def sample(self, batch_size: int, rng: np.random.Generator,
               device: torch.device | str = "cpu") -> Batch:
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = rng.integers(0, self.size, size=batch_size)
        as_tensor = lambda a: torch.as_tensor(a[idx], device=device)
        return Batch(as_tensor(self.states), as_tensor(self.actions), as_tensor(self.rewards),
                     as_tensor(self.next_states), as_tensor(self.dones))
