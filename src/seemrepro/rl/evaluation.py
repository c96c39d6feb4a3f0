"""The one policy evaluator: undiscounted episode returns in a Gymnasium environment.

Every score in the package (training monitors, behaviour agents, dataset reference scores, the
d3rlpy peer) comes from :func:`evaluate_returns`: episode ``k`` resets with seed ``seed + k``, and
``policy=None`` is the uniform random policy, drawing from a generator seeded with ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

Policy = Callable[[np.ndarray], np.ndarray]


def evaluate_returns(env: Any, policy: Policy | None, episodes: int, seed: int) -> list[float]:
    """Undiscounted returns of ``policy`` (raw observations in, actions out) in ``env``."""
    rng = np.random.default_rng(seed)
    space = env.action_space
    out = []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        total, done = 0.0, False
        while not done:
            a = (rng.uniform(space.low, space.high).astype(np.float32) if policy is None
                 else policy(obs).astype(np.float32))
            obs, reward, terminated, truncated, _ = env.step(a)
            total += float(reward)
            done = terminated or truncated
        out.append(total)
    return out


def evaluate(policy: Policy | None, env_id: str, episodes: int, seed: int) -> list[float]:
    """:func:`evaluate_returns` in a fresh ``gym.make(env_id)``, closed afterwards."""
    import gymnasium as gym

    env = gym.make(env_id)
    try:
        return evaluate_returns(env, policy, episodes, seed)
    finally:
        env.close()


def torch_policy(actor: Callable[[torch.Tensor], torch.Tensor], *,
                 state_mean: np.ndarray | None = None, state_std: np.ndarray | None = None,
                 device: torch.device | str | None = None) -> Policy:
    """A torch actor as a NumPy policy; states are standardized first when ``state_mean`` and
    ``state_std`` are given (the statistics the actor was trained with)."""
    if (state_mean is None) != (state_std is None):
        raise ValueError("give both state_mean and state_std, or neither")

    def policy(obs: np.ndarray) -> np.ndarray:
        x = obs if state_mean is None else (obs - state_mean) / state_std
        s = torch.as_tensor(x, dtype=torch.float32, device=device)
        with torch.no_grad():
            return actor(s).cpu().numpy()

    return policy
