"""Transition storage shared by every agent: a fixed offline buffer and a growing online one,
and the options of offline minibatch sampling and reward shaping that a run config names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
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

    ``sample_weights`` (optional, float64 on the CPU, summing to 1) makes :meth:`sample` draw
    transition ``i`` with probability ``sample_weights[i]`` instead of uniformly (e.g. OPER-R,
    :func:`oper_r_weights`); it stays on the CPU in :meth:`to` because the samplers' generators
    are CPU generators, and :meth:`select` drops it (the selection needs weights of its own).
    """

    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_states: torch.Tensor
    terminals: torch.Tensor
    timeouts: torch.Tensor
    episode_starts: torch.Tensor
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    sample_weights: torch.Tensor | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        n = self.states.shape[0]
        for f in ("actions", "rewards", "next_states", "terminals", "timeouts"):
            if getattr(self, f).shape[0] != n:
                raise ValueError(f"{f} has {getattr(self, f).shape[0]} rows, states has {n}")
        w = self.sample_weights
        if w is not None:
            if w.shape != (n,):
                raise ValueError(f"sample_weights has shape {tuple(w.shape)}, expected ({n},)")
            if not bool(torch.isfinite(w).all()) or bool((w < 0).any()) or float(w.sum()) <= 0:
                raise ValueError("sample_weights must be finite, non-negative and not all zero")

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
                 if isinstance(getattr(self, f.name), torch.Tensor)
                 and f.name != "sample_weights"}
        return replace(self, **moved)

    def with_sample_weights(self, weights: torch.Tensor | np.ndarray | None) -> TransitionBuffer:
        """This buffer with sampling probabilities ``weights`` (normalized here; ``None``:
        uniform sampling again)."""
        if weights is None:
            return replace(self, sample_weights=None)
        w = torch.as_tensor(weights, dtype=torch.float64).detach().cpu().flatten()
        total = float(w.sum())
        return replace(self, sample_weights=w / total if total > 0 and np.isfinite(total) else w)

    @cached_property
    def _sample_cdf(self) -> torch.Tensor:
        """The cumulative sampling distribution, exactly 1.0 from the last positive weight on
        (so that a draw never lands on a zero-weight tail through rounding)."""
        w = self.sample_weights
        assert w is not None
        cdf = torch.cumsum(w, 0)
        cdf = cdf / cdf[-1]
        cdf[int(torch.nonzero(w > 0).max()):] = 1.0
        return cdf

    def select(self, indices: torch.Tensor) -> TransitionBuffer:
        """The transitions at ``indices`` (episode structure is not kept)."""
        idx = indices.to(self.states.device)
        return replace(
            self, states=self.states[idx], actions=self.actions[idx], rewards=self.rewards[idx],
            next_states=self.next_states[idx], terminals=self.terminals[idx],
            timeouts=self.timeouts[idx],
            episode_starts=torch.zeros(0, dtype=torch.long, device=self.states.device),
            metadata={**self.metadata, "subset_of": len(self)}, sample_weights=None,
        )

    def batch(self, indices: torch.Tensor) -> Batch:
        return Batch(self.states[indices], self.actions[indices], self.rewards[indices],
                     self.next_states[indices], self.terminals[indices].to(self.rewards.dtype))

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        """``batch_size`` transitions drawn with replacement from ``generator``: uniformly, or
        with probabilities :attr:`sample_weights` (inverse-CDF draws: one uniform double per
        transition, so each generator's stream alone decides its batches)."""
        if self.sample_weights is None:
            idx = torch.randint(0, len(self), (batch_size,), generator=generator)
        else:
            u = torch.rand(batch_size, generator=generator, dtype=torch.float64)
            idx = torch.searchsorted(self._sample_cdf, u, right=True).clamp_(max=len(self) - 1)
        return self.batch(idx.to(self.states.device))


# -- options of a run's offline data: reward shaping and minibatch sampling ---------------------

ANTMAZE_SUCCESS_REWARD = 10.0


def _antmaze_rewards(rewards: torch.Tensor) -> torch.Tensor:
    if not bool(((rewards == 0) | (rewards == 1)).all()):
        raise ValueError("reward_transform='antmaze' expects sparse 0/1 success rewards; "
                         f"got values in [{float(rewards.min())}, {float(rewards.max())}]")
    return rewards * ANTMAZE_SUCCESS_REWARD


REWARD_TRANSFORMS: dict[str, Callable[[torch.Tensor], torch.Tensor] | None] = {
    "none": None,
    "antmaze": _antmaze_rewards,
}
"""Reward shaping a run config can name (``RunConfig.reward_transform``), applied to the run's
training rewards when its data is prepared (the stored dataset is never changed).

* ``none``: the dataset's rewards as they are;
* ``antmaze``: the SEEM paper's AntMaze rewards, +10 on a successful transition and 0
  otherwise (Appendix F.1: "we assign a reward +10 to the successful transitions, otherwise 0";
  the official code multiplies D4RL's sparse 0/1 rewards by ``reward_scale=10``). Rewards
  other than 0 and 1 raise ``ValueError``: the option is meant for sparse success rewards.
"""

SAMPLERS: tuple[str, ...] = ("uniform", "oper-r")
"""Minibatch samplers a run config can name (``RunConfig.sampler``): ``uniform`` over the
transitions, or ``oper-r``, return-based offline prioritized replay (:func:`oper_r_weights`)."""


def transform_rewards(name: str, rewards: torch.Tensor) -> torch.Tensor:
    """``rewards`` shaped by the transform ``name`` of :data:`REWARD_TRANSFORMS`."""
    if name not in REWARD_TRANSFORMS:
        raise ValueError(f"unknown reward transform {name!r}; known: {sorted(REWARD_TRANSFORMS)}")
    fn = REWARD_TRANSFORMS[name]
    return rewards if fn is None else fn(rewards)


def transition_returns(buffer: TransitionBuffer) -> torch.Tensor:
    """The undiscounted return of each transition's episode, float64, one per transition.

    Episodes are delimited by ``episode_starts`` (Minari's episodes); a buffer without them
    is split after every terminal or timeout (one episode when there is none).
    """
    n = len(buffer)
    rewards = buffer.rewards.detach().cpu().double()
    starts = buffer.episode_starts.detach().cpu().long()
    if starts.numel() == 0:
        ends = torch.nonzero((buffer.terminals.cpu() > 0) | (buffer.timeouts.cpu() > 0))
        starts = ends.flatten() + 1
    starts = torch.unique(torch.cat([torch.zeros(1, dtype=torch.long), starts]))
    starts = starts[starts < n]
    episode = torch.searchsorted(starts, torch.arange(n), right=True) - 1
    totals = torch.zeros(len(starts), dtype=torch.float64).index_add_(0, episode, rewards)
    return totals[episode]


def oper_r_weights(returns: torch.Tensor | np.ndarray, p_base: float = 0.0) -> torch.Tensor:
    r"""OPER-R sampling probabilities from each transition's episode return :math:`R_i`:

    .. math:: p_i = \frac{w_i}{\sum_j w_j},\qquad
              w_i = \frac{R_i - \min_j R_j}{\max_j R_j - \min_j R_j} + p_\text{base}

    as in the SEEM paper's official Diffusion-QL code (min–max normalized trajectory returns
    plus ``p_base``, which is 0 for AntMaze, so the lowest-return episodes are never drawn).
    When every return is equal the weights are uniform (the official code divides by zero).
    Returns float64 probabilities summing to 1.
    """
    r = torch.as_tensor(returns, dtype=torch.float64).flatten()
    if r.numel() == 0:
        raise ValueError("no returns to weight")
    if p_base < 0:
        raise ValueError(f"p_base must be non-negative, got {p_base}")
    span = float(r.max() - r.min())
    if not np.isfinite(span) or span <= 0:
        return torch.full_like(r, 1.0 / r.numel())
    w = (r - r.min()) / span + p_base
    return w / w.sum()


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
