"""The setting of the paper's own toy script: Q-value iteration along one random-walk trajectory.

A 2-D state starts uniformly in [0, 1]² and takes ``length - 1`` steps of ``step·a`` plus a
small non-negative noise in each coordinate, ``a`` drawn from the 8 unit vectors at multiples
of 45°. The dataset is the ``length - 1`` transitions of that single trajectory, all rewards
are zero and the bootstrap target is ``γ·max_a' Q(s', a')`` over the same 8 unit vectors, from
the current network. The network is a biased ReLU MLP with PyTorch's default initialization,
trained by full-batch SGD on the mean squared TD error (see :func:`run_maze`).

Unlike :mod:`seemrepro.core.toy` (independent random pairs, axis and diagonal moves of 0.01),
consecutive transitions share states, so the next states are nearly the dataset's own states.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from seemrepro.core.critics import make_critic
from seemrepro.core.toy import TDTrace, ToyDataset, q_value_iteration
from seemrepro.runtime import using_threads

UNIT_ACTIONS = torch.tensor(
    [[math.cos(k * math.pi / 4), math.sin(k * math.pi / 4)] for k in range(8)],
    dtype=torch.float64,
)
# the script's fixed trajectory seed (NumPy's legacy generator) and its "explodes" init seed
OFFICIAL_TRAJECTORY_SEED = 1458
OFFICIAL_INIT_SEED = 111


@dataclass(frozen=True)
class MazeDataset(ToyDataset):
    """A :class:`ToyDataset` whose greedy target maximizes over the 8 unit-vector actions."""

    def all_next_inputs(self) -> torch.Tensor:
        """(N, 8, 4): every unit action paired with every next state."""
        n, k = self.next_states.shape[0], UNIT_ACTIONS.shape[0]
        states = self.next_states.unsqueeze(1).expand(n, k, 2)
        actions = UNIT_ACTIONS.to(self.states.dtype).unsqueeze(0).expand(n, k, 2)
        return torch.cat([states, actions], dim=2)

    def to(self, dtype: torch.dtype) -> MazeDataset:
        return MazeDataset(self.states.to(dtype), self.actions.to(dtype),
                           self.next_states.to(dtype))


def make_maze_dataset(
    length: int = 64, *, seed: int = OFFICIAL_TRAJECTORY_SEED, step: float = 0.1,
    noise: float = 0.02, dtype: torch.dtype = torch.float32,
) -> MazeDataset:
    """The ``length - 1`` transitions of one random walk drawn with ``RandomState(seed)``.

    Draw order per step: the action index, then the noise (uniform in ``[0, noise)`` per
    coordinate), after a uniform start in [0, 1]².
    """
    if length < 2:
        raise ValueError(f"a trajectory needs at least two states, got length {length}")
    rng = np.random.RandomState(seed)
    unit = UNIT_ACTIONS.numpy()
    states, actions = [rng.rand(2)], []
    for _ in range(length - 1):
        action = unit[rng.randint(0, unit.shape[0])]
        states.append(states[-1] + step * action + noise * rng.rand(2))
        actions.append(action)
    s, a = torch.tensor(np.array(states)), torch.tensor(np.array(actions))
    return MazeDataset(s[:-1].to(dtype), a.to(dtype), s[1:].to(dtype))


def run_maze(
    *,
    depth: int = 2,
    width: int = 64,
    seed: int = OFFICIAL_INIT_SEED,
    trajectory_seed: int = OFFICIAL_TRAJECTORY_SEED,
    length: int = 64,
    bias: bool = True,
    lr: float = 0.02,
    gamma: float = 0.99,
    **options: Any,
) -> TDTrace:
    """One run of the script's setting: an MLP of ``depth`` layers initialized with ``seed``
    (biased, width 64, SGD lr 0.02, γ 0.99 by default) on the trajectory of ``trajectory_seed``;
    ``options`` go to :func:`~seemrepro.core.toy.q_value_iteration`."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    data = make_maze_dataset(length, seed=trajectory_seed)
    critic = make_critic(4, (width,) * (depth - 1), seed=seed, bias=bias)
    with using_threads(1):  # these small problems only lose to threading overhead
        return q_value_iteration(critic, data, lr=lr, gamma=gamma, **options)
