"""Episodes on their way into a Minari dataset: the episode record, the writer that never leaves
a half-written dataset behind, and the one-line summary of what was written. Shared by the
locomotion (:mod:`seemrepro.datasets.generate`) and maze (:mod:`seemrepro.datasets.maze`)
generators."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from seemrepro.datasets.minari_io import (
    DEFAULT_GOAL_KEYS,
    FLAT_FILE,
    flatten_observation,
    write_integrity,
)
from seemrepro.runtime import environment_variable

REF_EPISODES = 50


def flatten_obs(obs: np.ndarray | dict[str, np.ndarray]) -> np.ndarray:
    """Dict observations as the loader flattens them: the observation, then the goal."""
    return flatten_observation(obs, DEFAULT_GOAL_KEYS, batched=True)


@dataclass
class Episode:
    observations: Any
    actions: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    seed: int

    def __len__(self) -> int:
        return int(self.rewards.shape[0])

    @property
    def ret(self) -> float:
        return float(self.rewards.sum(dtype=np.float64))


def write_dataset(root: Path, ds_id: str, episodes: Sequence[Episode], env_id: str | None, *,
                  observation_space: gym.Space | None = None,
                  action_space: gym.Space | None = None, ref_min: float | None = None,
                  ref_max: float | None = None, description: str = "",
                  algorithm: str = "seemrepro", ref_episodes: int = REF_EPISODES) -> Path:
    """Write with Minari into a hidden staging folder, then move into place: never half-written."""
    import minari
    from minari.data_collector.episode_buffer import EpisodeBuffer

    staging = root / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    buffers = [EpisodeBuffer(id=i, seed=ep.seed, observations=ep.observations,
                             actions=ep.actions, rewards=ep.rewards,
                             terminations=ep.terminations, truncations=ep.truncations)
               for i, ep in enumerate(episodes)]
    with environment_variable("MINARI_DATASETS_PATH", str(staging)), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        minari.create_dataset_from_buffers(
            ds_id, buffers, env=env_id, observation_space=observation_space,
            action_space=action_space, algorithm_name=algorithm, author="seemrepro",
            author_email="none", code_permalink="src/seemrepro/datasets/generate.py",
            ref_min_score=ref_min, ref_max_score=ref_max,
            num_episodes_average_score=ref_episodes, description=description)
    meta_path = staging / ds_id / "data" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    if ref_max is not None and "ref_max_score" not in meta:  # Minari drops them without an env
        meta.update(ref_min_score=ref_min, ref_max_score=ref_max,
                    num_episodes_average_score=ref_episodes)
        meta_path.write_text(json.dumps(meta))
    flat_observations = [flatten_obs(ep.observations) for ep in episodes]
    np.savez(staging / ds_id / FLAT_FILE,
             observations=np.concatenate(flat_observations).astype(np.float32),
             actions=np.concatenate([ep.actions.reshape(len(ep), -1) for ep in episodes]),
             rewards=np.concatenate([ep.rewards for ep in episodes]).astype(np.float32),
             terminations=np.concatenate([ep.terminations for ep in episodes]),
             truncations=np.concatenate([ep.truncations for ep in episodes]),
             lengths=np.array([len(ep) for ep in episodes], dtype=np.int64))
    write_integrity(staging / ds_id)
    target = root / ds_id
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging / ds_id, target)
    for ns_file in staging.rglob("namespace_metadata.json"):  # Minari's namespace markers
        dest = root / ns_file.relative_to(staging)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ns_file, dest)
    shutil.rmtree(staging, ignore_errors=True)
    return target


@dataclass(frozen=True)
class Generated:
    dataset_id: str
    transitions: int
    episodes: int
    return_mean: float
    return_std: float
    seconds: float
    path: Path


def summarize(ds_id: str, eps: Sequence[Episode], seconds: float, path: Path) -> Generated:
    rets = np.array([e.ret for e in eps])
    return Generated(ds_id, sum(len(e) for e in eps), len(eps), float(rets.mean()),
                     float(rets.std()), seconds, path)
