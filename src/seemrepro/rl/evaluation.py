"""The one policy evaluator: undiscounted episode returns in a Gymnasium environment.

Every score in the package (training monitors, behaviour agents, dataset reference scores, the
d3rlpy peer) comes from :func:`evaluate_episodes` (:func:`evaluate_returns` is its returns):
episode ``k`` resets with seed ``seed + k``, and ``policy=None`` is the uniform random policy,
drawing from a generator seeded with ``seed``.

Goal-conditioned mazes return dict observations; ``observation`` turns each into the flat
vector the policy was trained on (:func:`seemrepro.datasets.minari_io.flatten_observation` with
the dataset's keys), and their ``info["success"]`` (within reach of the goal) is collected
per episode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from gymnasium.envs.registration import EnvSpec

Policy = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class EpisodeOutcomes:
    """What :func:`evaluate_episodes` saw, one entry per episode: the undiscounted return, the
    number of steps, and whether the goal was reached at some step (``info["success"]`` true
    after a step) — ``successes`` is ``None`` when the environment does not report success."""

    returns: list[float]
    lengths: list[int]
    successes: list[bool] | None

    @property
    def success_rate(self) -> float | None:
        """The fraction of episodes that reached the goal (``None`` without success reports)."""
        return None if self.successes is None else float(np.mean(self.successes))


def evaluate_episodes(env: Any, policy: Policy | None, episodes: int, seed: int, *,
                      observation: Callable[[Any], np.ndarray] | None = None
                      ) -> EpisodeOutcomes:
    """Run ``episodes`` episodes of ``policy`` in ``env``; ``observation`` (if given) maps each
    raw observation to the policy's input (e.g. flattens a dict observation)."""
    rng = np.random.default_rng(seed)
    space = env.action_space
    returns, lengths, successes = [], [], []
    reported = False
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        total, steps, success, done = 0.0, 0, False, False
        while not done:
            if policy is None:
                a = rng.uniform(space.low, space.high).astype(np.float32)
            else:
                a = policy(obs if observation is None else observation(obs)).astype(np.float32)
            obs, reward, terminated, truncated, info = env.step(a)
            total += float(reward)
            steps += 1
            if "success" in info:
                reported = True
                success = success or bool(info["success"])
            done = terminated or truncated
        returns.append(total)
        lengths.append(steps)
        successes.append(success)
    return EpisodeOutcomes(returns, lengths, successes if reported else None)


def evaluate_returns(env: Any, policy: Policy | None, episodes: int, seed: int) -> list[float]:
    """Undiscounted returns of ``policy`` (raw observations in, actions out) in ``env``."""
    return evaluate_episodes(env, policy, episodes, seed).returns


def make_env(env: str | EnvSpec) -> Any:
    """``gym.make`` of an env id or a full :class:`gymnasium.envs.registration.EnvSpec` (the
    latter keeps a dataset's recorded settings: maze layout, task options, episode length)."""
    import gymnasium as gym

    return gym.make(env)


def evaluate(policy: Policy | None, env_id: str | EnvSpec, episodes: int, seed: int
             ) -> list[float]:
    """:func:`evaluate_returns` in a fresh :func:`make_env` of ``env_id`` (an id or an
    ``EnvSpec``), closed afterwards."""
    env = make_env(env_id)
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
