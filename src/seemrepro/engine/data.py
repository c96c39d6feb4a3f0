"""A run's data: the (standardized) training transitions, the fixed monitoring set X and the
environment its policy is evaluated in."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from seemrepro import seeds
from seemrepro.datasets.minari_io import subset
from seemrepro.datasets.resolve import reference_for, resolve_dataset, synthetic
from seemrepro.engine.config import RunConfig
from seemrepro.rl.buffers import (
    Batch,
    TransitionBuffer,
    oper_r_weights,
    transform_rewards,
    transition_returns,
)


@dataclass
class Prepared:
    """The (normalized) training data, its state statistics and the evaluation env."""

    data: TransitionBuffer
    mean: torch.Tensor
    std: torch.Tensor
    env_id: str | None
    source: TransitionBuffer


def online_env_id(dataset: str) -> str:
    return dataset.split("/", 1)[1]


def prepare(config: RunConfig, device: torch.device) -> Prepared:
    """A run's data: the dataset, its X% subset, the OPER-R sampling weights (from the
    dataset's episode returns) when ``config.sampler`` asks for them, the rewards shaped by
    ``config.reward_transform``, then the states standardized; the stored dataset is never
    changed."""
    if config.online:
        env_id = online_env_id(config.dataset)
        import gymnasium as gym

        env = gym.make(env_id)
        s_dim = int(np.prod(env.observation_space.shape))  # type: ignore[arg-type]
        a_dim = int(np.prod(env.action_space.shape))  # type: ignore[arg-type]
        env.close()
        empty = synthetic(1, s_dim, a_dim)
        empty.metadata.clear()
        ref = reference_for(env_id)
        if ref:
            empty.metadata.update(ref_min_score=ref[0], ref_max_score=ref[1])
        return Prepared(empty, torch.zeros(s_dim), torch.ones(s_dim), env_id, empty)
    source = resolve_dataset(config.dataset)
    data = subset(source, config.subset, config.subset_seed)
    if config.sampler == "oper-r":
        data = data.with_sample_weights(oper_r_weights(sampling_returns(source, data)))
    if config.reward_transform != "none":
        data = dataclasses.replace(
            data, rewards=transform_rewards(config.reward_transform, data.rewards))
    if config.normalize_states:
        mean, std = data.state_stats()
    else:
        mean, std = torch.zeros(data.state_dim), torch.ones(data.state_dim)
    data = dataclasses.replace(data, states=(data.states - mean) / std,
                               next_states=(data.next_states - mean) / std).to(device)
    return Prepared(data, mean, std, source.metadata.get("env_id"), source)


def sampling_returns(source: TransitionBuffer, data: TransitionBuffer) -> torch.Tensor:
    """The episode return of each of ``data``'s transitions, computed on the whole ``source``
    (an X% subset keeps no episode structure) from its raw rewards, before any
    ``reward_transform``, as the official OPER-R code does (returns come from the loaded
    D4RL trajectories, before ``reward_scale``)."""
    returns = transition_returns(source)
    idx = data.metadata.get("subset_indices")
    if idx is None and len(data) == len(source):
        return returns
    if idx is None or len(idx) != len(data):
        raise ValueError("the training data is neither the dataset nor a subset of it")
    return returns[torch.as_tensor(idx, dtype=torch.long)]


class MonitorSetWarning(UserWarning):
    """The requested monitoring set is larger than the run's training data."""


def monitor_set(data: TransitionBuffer, m: int, seed: int) -> Batch:
    """The fixed X: ``m`` distinct transitions drawn once, before training, from this seed's
    stream, without replacement.

    A transition drawn twice would make two rows of ``A`` equal, so ``A`` would be singular
    with an exact zero eigenvalue, and a negative SEEM would read as zero. When ``m`` exceeds
    the number of transitions, X is all of them, and a :class:`MonitorSetWarning` says so.
    """
    idx = monitor_indices(len(data), m, seed, setting="MonitorConfig.seem_samples",
                          stacklevel=3)
    return data.batch(idx.to(data.states.device))


def monitor_indices(size: int, m: int, seed: int, *, setting: str,
                    stacklevel: int = 2) -> torch.Tensor:
    """Indices of ``min(m, size)`` distinct transitions out of ``size``, drawn without
    replacement from the run seed's :data:`seemrepro.seeds.MONITOR_SET` stream (shared by
    :func:`monitor_set` and :class:`seemrepro.monitor.SEEMMonitor`).

    ``m > size`` gives all of them and a :class:`MonitorSetWarning` naming ``setting``, the
    option that chose ``m``; ``stacklevel`` points the warning at the caller's caller.
    """
    if m <= 0:
        raise ValueError(f"the monitoring set needs at least one transition, got m={m}")
    if m > size:
        warnings.warn(f"the SEEM monitor asked for {m} transitions but the training data holds "
                      f"only {size}; X is all {size} of them (set "
                      f"{setting} <= {size} to silence this)",
                      MonitorSetWarning, stacklevel=stacklevel)
    g = torch.Generator().manual_seed(seeds.MONITOR_SET(seed))
    return torch.randperm(size, generator=g)[: min(m, size)]
