"""Evaluating a policy on a maze dataset: the dataset's own environment, its flat states.

The PointMaze tests read ``seemrepro/pointmaze/umaze-v0`` from the project's datasets and are
skipped when it is absent (``python -m seemrepro.datasets.generate --only pointmaze/umaze
--missing`` writes it in about ten seconds). The AntMaze test writes a tiny dataset shaped like
Minari's D4RL AntMaze.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from shared_checks import write_antmaze_like

from seemrepro import seeds
from seemrepro.datasets import resolve_dataset
from seemrepro.datasets.minari_io import (
    ANTMAZE_GOAL_KEYS,
    DEFAULT_GOAL_KEYS,
    find_dataset,
    flatten_observation,
    goal_keys_for,
    observation_keys,
)
from seemrepro.datasets.resolve import evaluation_env
from seemrepro.engine import MonitorConfig, RunConfig, train
from seemrepro.engine.monitors.evaluation import observation_flattener, scored_by_success
from seemrepro.rl.buffers import TransitionBuffer
from seemrepro.rl.evaluation import evaluate_episodes, evaluate_returns, make_env

UMAZE = "seemrepro/pointmaze/umaze-v0"
TINY = {"actor_hidden": [32, 32], "critic": {"hidden": [32, 32]}}

needs_umaze = pytest.mark.skipif(
    find_dataset(UMAZE) is None,
    reason=f"{UMAZE} is not generated: python -m seemrepro.datasets.generate --only "
           "pointmaze/umaze --missing (about 10 s)")


@pytest.fixture(scope="module")
def umaze() -> TransitionBuffer:
    pytest.importorskip("gymnasium_robotics")
    return resolve_dataset(UMAZE)


# -- the shared flattening rule --------------------------------------------------------------
def test_flatten_observation_follows_the_goal_keys() -> None:
    obs = {"desired_goal": np.array([7.0, 8.0]), "observation": np.array([1.0, 2.0, 3.0, 4.0]),
           "achieved_goal": np.array([1.0, 2.0])}
    assert observation_keys(obs, DEFAULT_GOAL_KEYS) == ["observation", "desired_goal"]
    np.testing.assert_array_equal(flatten_observation(obs, DEFAULT_GOAL_KEYS),
                                  [1, 2, 3, 4, 7, 8])
    np.testing.assert_array_equal(flatten_observation(obs, ANTMAZE_GOAL_KEYS),
                                  [1, 2, 1, 2, 3, 4, 7, 8])
    assert observation_keys({"b": 0, "a": 0}, DEFAULT_GOAL_KEYS) == ["a", "b"]  # no goal keys
    batch = {k: np.stack([v, 10 * v]) for k, v in obs.items()}
    flat = flatten_observation(batch, DEFAULT_GOAL_KEYS, batched=True)
    assert flat.shape == (2, 6)
    np.testing.assert_array_equal(flat[1], [10, 20, 30, 40, 70, 80])
    np.testing.assert_array_equal(flatten_observation(np.ones((2, 3)), DEFAULT_GOAL_KEYS),
                                  np.ones(6))


def test_evaluate_returns_is_unchanged_for_plain_environments() -> None:
    env = gym.make("Pendulum-v1")
    outcomes = evaluate_episodes(env, None, 2, 5)
    assert outcomes.returns == evaluate_returns(env, None, 2, 5)
    assert outcomes.lengths == [200, 200] and outcomes.successes is None
    assert outcomes.success_rate is None
    env.close()


# -- PointMaze: the dataset's environment --------------------------------------------------
@needs_umaze
def test_pointmaze_eval_env_has_the_datasets_settings(umaze: TransitionBuffer) -> None:
    from seemrepro.datasets.maze import make_maze_env

    buf = umaze
    spec = evaluation_env(buf)
    assert isinstance(spec, gym.envs.registration.EnvSpec)
    lengths = buf.metadata["episode_lengths"]
    assert spec.id == buf.metadata["env_id"] == "PointMaze_UMaze-v3"
    assert spec.max_episode_steps == buf.metadata["max_episode_steps"] == int(lengths.max()) == 300
    env: Any = make_env(spec)
    recipe: Any = make_maze_env("umaze")
    try:
        for attr in ("continuing_task", "reset_target", "reward_type"):
            assert getattr(env.unwrapped, attr) == getattr(recipe.unwrapped, attr), attr
        assert env.unwrapped.reset_target and env.unwrapped.continuing_task
        np.testing.assert_array_equal(env.unwrapped.maze.maze_map, recipe.unwrapped.maze.maze_map)
    finally:
        env.close()
        recipe.close()


@needs_umaze
def test_pointmaze_eval_env_replays_the_datasets_first_episode(umaze: TransitionBuffer) -> None:
    """Reset with the data's first seed and replay its actions: the flattened observations are
    the dataset's states (same keys, same order, same goals resampled on arrival)."""
    buf = umaze
    spec = evaluation_env(buf)
    assert spec is not None
    env = make_env(spec)
    flatten = observation_flattener(env, UMAZE)
    assert flatten is not None
    n = int(buf.metadata["episode_lengths"][0])
    states = buf.states[:n].numpy()
    try:
        obs, _ = env.reset(seed=seeds.MAZE_ROLLOUTS(0))
        first = flatten(obs)
        assert first.shape == (buf.state_dim,)
        np.testing.assert_allclose(first, states[0], rtol=0, atol=1e-6)
        rewards = []
        for t in range(n):
            obs, r, terminated, truncated, _ = env.step(buf.actions[t].numpy())
            rewards.append(r)
            np.testing.assert_allclose(flatten(obs), buf.next_states[t].numpy(),
                                       rtol=0, atol=1e-4)
        assert truncated and not terminated  # the data's episode length is the env's
        np.testing.assert_array_equal(rewards, buf.rewards[:n].numpy())
        assert sum(rewards) > 1  # goals were reached, and resampled, along the way
    finally:
        env.close()


@needs_umaze
def test_td3_evaluates_on_pointmaze(umaze: TransitionBuffer) -> None:
    mon = MonitorConfig(q_every=10, seem_every=0, eval_every=20, eval_episodes=1)
    c = RunConfig(algorithm="td3", dataset=UMAZE, steps=20, batch_size=32, agent=TINY,
                  monitors=mon)
    (result,) = train(c, progress=False)
    steps, ret = result.series("return")
    assert list(steps) == [0, 20] and np.isfinite(ret).all()
    assert ((0.0 <= ret) & (ret <= 300.0)).all()  # sparse reward: steps within reach of a goal
    _, score = result.series("normalized_score")
    lo, hi = umaze.metadata["ref_min_score"], umaze.metadata["ref_max_score"]
    np.testing.assert_allclose(score, 100 * (ret - lo) / (hi - lo))
    _, success = result.series("success")
    np.testing.assert_array_equal(success, ret > 0)  # sparse: reward 1 exactly when in reach


# -- AntMaze: Minari's D4RL layout, scored by success -------------------------------------
ANTMAZE_ID = "D4RL/antmaze/umaze-v1"


def write_antmaze(root: Path) -> None:
    """Two short episodes shaped like Minari's D4RL AntMaze, with an evaluation maze whose
    start and goal are fixed (the spec Minari records as ``eval_env_spec``)."""
    gym.register_envs(pytest.importorskip("gymnasium_robotics"))
    r, g = "r", "g"
    spec = gym.spec("AntMaze_UMaze-v4")
    eval_spec = dataclasses.replace(
        spec, max_episode_steps=50,
        kwargs={**spec.kwargs, "continuing_task": True, "reset_target": False,
                "maze_map": [[1, 1, 1, 1, 1], [1, 0, 0, r, 1], [1, 0, 1, 1, 1],
                             [1, 0, 0, g, 1], [1, 1, 1, 1, 1]]})
    write_antmaze_like(root, ANTMAZE_ID, env_id="AntMaze_UMaze-v4", episode_lengths=(20, 30),
                       successes=(0, 0), goal_range=(-2.0, 2.0), ref_max_score=300.0,
                       eval_env=eval_spec)


def test_antmaze_evaluates_in_the_recorded_eval_maze_and_scores_success(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEMREPRO_DATASETS_PATH", str(tmp_path / "project"))
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "user"))
    write_antmaze(tmp_path / "project")
    assert scored_by_success(ANTMAZE_ID) and not scored_by_success(UMAZE)
    assert goal_keys_for(ANTMAZE_ID) == ANTMAZE_GOAL_KEYS
    buf = resolve_dataset(ANTMAZE_ID)
    spec = evaluation_env(buf)
    assert isinstance(spec, gym.envs.registration.EnvSpec)
    assert spec.max_episode_steps == 50 and spec.kwargs["reset_target"] is False  # eval spec
    env: Any = make_env(spec)
    try:
        obs, _ = env.reset(seed=0)
        flatten = observation_flattener(env, ANTMAZE_ID)
        assert flatten is not None
        flat = flatten(obs)
        assert flat.shape == (buf.state_dim,) == (31,)
        np.testing.assert_array_equal(flat[:2], obs["achieved_goal"])  # the ant's x-y first
        np.testing.assert_array_equal(flat[-2:], obs["desired_goal"])
        maze = env.unwrapped.maze  # the goal is the evaluation maze's fixed one
        assert tuple(int(v) for v in maze.cell_xy_to_rowcol(obs["desired_goal"])) == (3, 3)
    finally:
        env.close()
    mon = MonitorConfig(q_every=5, seem_every=0, eval_every=5, eval_episodes=2)
    c = RunConfig(algorithm="td3", dataset=ANTMAZE_ID, steps=5, batch_size=16,
                  agent={"actor_hidden": [16, 16], "critic": {"hidden": [16, 16]}},
                  monitors=mon)
    (result,) = train(c, progress=False)
    _, ret = result.series("return")
    _, success = result.series("success")
    _, score = result.series("normalized_score")
    assert np.isfinite(ret).all() and success[0] in (0.0, 0.5, 1.0)
    assert math.isclose(score[0], 100 * success[0])  # the success rate, not the return


def test_locomotion_eval_env_is_the_registered_one() -> None:
    """Data with no metadata file (rollouts) is evaluated in ``gym.make(env_id)``, its array
    observations used as they are; synthetic data has no environment."""
    buf = resolve_dataset("rollout/Pendulum-v1/50")
    assert evaluation_env(buf) == "Pendulum-v1"
    env = make_env("Pendulum-v1")
    assert observation_flattener(env, buf.metadata["dataset_id"]) is None
    env.close()
    assert evaluation_env(resolve_dataset("synthetic/10")) is None


@pytest.mark.skipif(find_dataset("seemrepro/hopper/medium-v0") is None,
                    reason="seemrepro/hopper/medium-v0 is not generated (make test writes it)")
def test_locomotion_recorded_spec_is_the_registered_environment() -> None:
    """Locomotion scores stay as they were: the recorded spec makes the same environment as
    ``gym.make(env_id)``, and the same random-policy returns."""
    buf = resolve_dataset("seemrepro/hopper/medium-v0")
    spec = evaluation_env(buf)
    assert isinstance(spec, gym.envs.registration.EnvSpec)
    recorded, bare = make_env(spec), make_env(str(buf.metadata["env_id"]))
    try:
        assert recorded.spec == bare.spec
        assert observation_flattener(recorded, "seemrepro/hopper/medium-v0") is None
        assert evaluate_returns(recorded, None, 1, 3) == evaluate_returns(bare, None, 1, 3)
    finally:
        recorded.close()
        bare.close()


@needs_umaze
def test_cli_trains_with_reward_transform_and_sampler(tmp_path: Path) -> None:
    """``--reward-transform`` and ``--sampler`` reach the stored run's config and key."""
    from seemrepro.cli import main

    argv = ["train", "td3", "--dataset", UMAZE, "--steps", "10", "--batch-size", "16",
            "--set", "critic.hidden=[16]", "--monitor", "seem_every=0", "--monitor", "q_every=5",
            "--runs", str(tmp_path), "--no-progress"]
    assert main([*argv, "--reward-transform", "antmaze", "--sampler", "oper-r"]) == 0
    assert main(argv) == 0  # the defaults: another run, whose key omits both fields
    configs = [json.loads(p.read_text()) for p in tmp_path.glob("*/*/config.json")]
    assert sorted((c.get("reward_transform", "-"), c.get("sampler", "-")) for c in configs) == [
        ("-", "-"), ("antmaze", "oper-r")]
    assert main([*argv, "--sampler", "prioritized"]) == 2


@needs_umaze
def test_q_bound_reads_the_shaped_rewards() -> None:
    """The Q-inflation bound max|r|/(1−γ) is over the rewards the critic is trained on."""
    from seemrepro.experiments.events import q_bound

    plain = RunConfig("td3", UMAZE, steps=10)
    assert q_bound(plain) == pytest.approx(1.0 / (1 - 0.99))
    shaped = dataclasses.replace(plain, reward_transform="antmaze")
    assert q_bound(shaped) == pytest.approx(10 * q_bound(plain))
