"""Evaluation return and D4RL normalized score of the current policy."""

from __future__ import annotations

import numpy as np

from seemrepro import seeds
from seemrepro.datasets import MissingReferenceScoresError, normalized_score
from seemrepro.engine.monitors.base import Monitor, RunView, register_monitor
from seemrepro.rl.evaluation import evaluate, torch_policy


@register_monitor
class EvaluationMonitor(Monitor):
    """``eval_episodes`` episodes of the greedy policy (states standardized with the training
    data's statistics); the start states at step t come from the stream
    :data:`seemrepro.seeds.EVALUATION`, the same for every run and the d3rlpy peer."""

    name = "eval"
    order = 20

    def __call__(self, run: RunView, step: int) -> dict[str, float]:
        prepared = run.prepared
        if prepared.env_id is None:
            raise ValueError("the evaluation monitor needs a dataset with an environment id")
        policy = torch_policy(run.actor, state_mean=prepared.mean.numpy(),
                              state_std=prepared.std.numpy(), device=run.agent.device)
        returns = evaluate(policy, prepared.env_id, run.config.eval_episodes,
                           seeds.EVALUATION(step))
        ret = float(np.mean(returns))
        try:
            return {"return": ret,
                    "normalized_score": float(normalized_score(ret, prepared.source))}
        except MissingReferenceScoresError:  # no reference scores: the raw return only
            return {"return": ret}
