"""Behaviour-agent training: SAC snapshots roll out as deterministic actors, runs resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from seemrepro.datasets.behaviour import (
    BehaviourConfig,
    deterministic_actor,
    load_actor,
    train_behaviour,
)
from seemrepro.datasets.generate import NumpyActor
from seemrepro.rl.agents.sac import SAC, SACConfig
from seemrepro.rl.networks import DeterministicActor


def tiny(algorithm: str, max_steps: int) -> BehaviourConfig:
    return BehaviourConfig("Hopper-v5", budget_s=600.0, max_steps=max_steps, start_steps=40,
                           batch_size=16, snapshot_every=40, eval_episodes=1,
                           checkpoint_every=40, algorithm=algorithm)


def test_sac_snapshot_is_the_gaussian_mean() -> None:
    agent = SAC(11, 3, SACConfig(max_action=0.7), seed=3)
    states = torch.randn(32, 11)
    mean_actor = deterministic_actor(agent.actor)
    assert isinstance(mean_actor, DeterministicActor)
    torch.testing.assert_close(mean_actor(states), agent.actor(states), rtol=0, atol=1e-6)
    # a sampled action differs from the mean: the copy dropped the log-std half, not the mean
    sampled, _ = agent.sample(states)
    assert not torch.allclose(sampled, mean_actor(states))


@pytest.mark.parametrize("algorithm", ["sac", "td3"])
def test_behaviour_training_saves_loadable_snapshots_and_resumes(tmp_path: Path,
                                                                   algorithm: str) -> None:
    first = train_behaviour(tiny(algorithm, 80), tmp_path)
    assert first["algorithm"] == algorithm.upper() and first["steps"] == 80
    resumed = train_behaviour(tiny(algorithm, 120), tmp_path)
    assert resumed["steps"] == 120
    assert [s["step"] for s in resumed["snapshots"]] == [40, 80, 120]
    manifest = json.loads((tmp_path / "hopper" / "manifest.json").read_text())
    assert manifest["finished"] and manifest["config"]["algorithm"] == algorithm
    path = tmp_path / "hopper" / resumed["snapshots"][-1]["file"]
    actor = load_actor(path, 11, 3)
    states = np.random.default_rng(0).normal(size=(5, 11))
    numpy_actions = np.stack([NumpyActor(path, 1.0)(s) for s in states])
    torch_actions = actor(torch.as_tensor(states, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(numpy_actions, torch_actions, atol=1e-5)


def test_bad_behaviour_config_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown behaviour algorithm"):
        BehaviourConfig("Hopper-v5", algorithm="ppo")
    with pytest.raises(ValueError, match="non-negative"):
        BehaviourConfig("Hopper-v5", max_steps=-1)
