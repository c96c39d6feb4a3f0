"""Helpers more than one test module needs (imported by name: pytest puts tests/ on the path)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from seemrepro.engine.config import RunResult
from seemrepro.runtime import environment_variable


def assert_same_runs(batched: Sequence[RunResult], alone: Sequence[RunResult]) -> None:
    """Runs trained as one batched model record what they record trained one by one: the same
    (step, seed, metric) rows, values to float32 round-off."""
    assert len(batched) == len(alone)
    for b, a in zip(batched, alone, strict=True):
        assert [r[:3] for r in b.rows] == [r[:3] for r in a.rows]
        np.testing.assert_allclose([r[3] for r in b.rows], [r[3] for r in a.rows],
                                   rtol=1e-4, atol=1e-5)


def write_antmaze_like(root: Path, dataset_id: str, *, env_id: str,
                       episode_lengths: Sequence[int], successes: Sequence[int],
                       goal_range: tuple[float, float], ref_max_score: float,
                       eval_env: Any = None) -> list[dict[str, np.ndarray]]:
    """A small dataset as Minari stores D4RL's AntMaze (dict observations with the ant's
    position in ``achieved_goal``, 8 actions, sparse 0/1 rewards: episode ``k`` ends in
    ``successes[k]`` rewarded steps), written by Minari alone under ``root``; returns each
    episode's observations."""
    robotics = pytest.importorskip("gymnasium_robotics")
    import minari
    from minari.data_collector.episode_buffer import EpisodeBuffer

    gym.register_envs(robotics)
    rng = np.random.default_rng(0)
    box = lambda n: gym.spaces.Box(-np.inf, np.inf, (n,), np.float64)
    space = gym.spaces.Dict({"achieved_goal": box(2), "desired_goal": box(2),
                             "observation": box(27)})
    low, high = goal_range
    observations, buffers = [], []
    for k, (n, success) in enumerate(zip(episode_lengths, successes, strict=True)):
        obs = {"observation": rng.normal(size=(n + 1, 27)),
               "achieved_goal": rng.uniform(low, high, (n + 1, 2)),
               "desired_goal": np.tile(rng.uniform(low, high, 2), (n + 1, 1))}
        rewards = np.zeros(n)
        rewards[n - success:] = 1.0  # an empty slice when success is 0
        truncations = np.zeros(n, bool)
        truncations[-1] = True
        observations.append(obs)
        buffers.append(EpisodeBuffer(id=k, observations=obs,
                                     actions=rng.uniform(-1, 1, (n, 8)).astype(np.float32),
                                     rewards=rewards, terminations=np.zeros(n, bool),
                                     truncations=truncations))
    with environment_variable("MINARI_DATASETS_PATH", str(root)), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        minari.create_dataset_from_buffers(
            dataset_id, buffers, env=gym.spec(env_id), eval_env=eval_env,
            observation_space=space, action_space=gym.spaces.Box(-1, 1, (8,), np.float32),
            ref_min_score=0.0, ref_max_score=ref_max_score)
    return observations
