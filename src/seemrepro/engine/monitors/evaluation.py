"""Evaluation return and D4RL normalized score of the current policy.

The environment is the one the dataset records (:func:`seemrepro.datasets.resolve.evaluation_env`:
maze layout, task options and episode length as in the data), and dict observations (mazes)
are flattened with the dataset's keys and order
(:func:`seemrepro.datasets.minari_io.flatten_observation` with
:func:`~seemrepro.datasets.minari_io.goal_keys_for`), so the policy sees states laid out as it
was trained on them.

Metrics: ``return`` (mean undiscounted return); ``success`` (fraction of episodes that reached
the goal, only for environments that report ``info["success"]``, i.e. the mazes);
``normalized_score`` where reference scores exist:

* D4RL's ``100 · (return − ref_min) / (ref_max − ref_min)`` with the dataset's reference scores
  (locomotion; our PointMaze datasets, whose references are the uniform random policy and the
  noise-free waypoint controller in the same continuing maze, 300 steps, goal resampled on
  arrival, so a return counts the steps spent within reach of a goal);
* for AntMaze ids, ``100 · success`` as in D4RL and the paper: D4RL's AntMaze evaluation ends
  an episode at the goal with reward 1 and has reference scores 0 and 1, so its normalized
  score is the success rate ×100. Minari's AntMaze evaluation maze is continuing (the return
  counts the steps spent at the goal), so the success is read from ``info["success"]``
  instead: reached at some step, which is when D4RL's episode would have ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from seemrepro import seeds
from seemrepro.datasets import MissingReferenceScoresError, normalized_score
from seemrepro.datasets.minari_io import ANTMAZE_GOAL_KEYS, flatten_observation, goal_keys_for
from seemrepro.datasets.resolve import evaluation_env
from seemrepro.engine.monitors.base import Monitor, RunView, register_monitor
from seemrepro.rl.evaluation import evaluate_episodes, make_env, torch_policy


def observation_flattener(env: Any, dataset_id: str | None
                          ) -> Callable[[Any], np.ndarray] | None:
    """The map from ``env``'s observations to the dataset's states: ``None`` (observations are
    used as they are) unless ``env`` returns dicts, which are flattened with the keys
    :func:`goal_keys_for` ``dataset_id`` gives (the ones the loader used)."""
    import gymnasium as gym

    if not isinstance(env.observation_space, gym.spaces.Dict):
        return None
    keys = goal_keys_for(dataset_id or "")
    return lambda obs: flatten_observation(obs, keys)


def scored_by_success(dataset_id: str | None) -> bool:
    """AntMaze ids (those :func:`goal_keys_for` flattens with the ant's position first) are
    scored by the success rate ×100, D4RL's and the paper's AntMaze score."""
    return dataset_id is not None and goal_keys_for(dataset_id) == ANTMAZE_GOAL_KEYS


@register_monitor
class EvaluationMonitor(Monitor):
    """``eval_episodes`` episodes of the greedy policy (states standardized with the training
    data's statistics) in the dataset's recorded evaluation environment; the start states at
    step t come from the stream :data:`seemrepro.seeds.EVALUATION`, the same for every run and
    the d3rlpy peer."""

    name = "eval"
    order = 20

    def __call__(self, run: RunView, step: int) -> dict[str, float]:
        prepared = run.prepared
        spec = evaluation_env(prepared.source) or prepared.env_id
        if spec is None:
            raise ValueError("the evaluation monitor needs a dataset with an environment id")
        dataset_id = prepared.source.metadata.get("dataset_id")
        policy = torch_policy(run.actor, state_mean=prepared.mean.numpy(),
                              state_std=prepared.std.numpy(), device=run.agent.device)
        env = make_env(spec)
        try:
            outcomes = evaluate_episodes(env, policy, run.config.eval_episodes,
                                         seeds.EVALUATION(step),
                                         observation=observation_flattener(env, dataset_id))
        finally:
            env.close()
        ret = float(np.mean(outcomes.returns))
        metrics = {"return": ret}
        success = outcomes.success_rate
        if scored_by_success(dataset_id) and success is not None:
            metrics["normalized_score"] = 100.0 * success
        else:
            try:
                metrics["normalized_score"] = float(normalized_score(ret, prepared.source))
            except MissingReferenceScoresError:  # no reference scores: the raw return only
                pass
        if success is not None:
            metrics["success"] = success
        return metrics
