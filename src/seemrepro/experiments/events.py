r"""The events a verdict reads from a finished run, defined once for every chapter.

*Q has inflated* at the first monitored step where max |Q| on X exceeds
:math:`\max|r| / (1-\gamma)`, with the maximum over the run's own training data: no true
value can pass that bound, so crossing it is divergence, whatever the run does afterwards.
"""

from __future__ import annotations

import functools

from seemrepro.core.predict import first_crossing_or_none
from seemrepro.engine.config import RunConfig, RunResult


@functools.lru_cache(maxsize=64)
def _max_abs_reward(dataset: str, subset: float, subset_seed: int, reward_transform: str
                    ) -> float:
    from seemrepro.datasets import load_subset
    from seemrepro.rl.buffers import transform_rewards

    rewards = load_subset(dataset, subset, subset_seed).rewards
    return float(transform_rewards(reward_transform, rewards).abs().max())


def q_bound(config: RunConfig) -> float:
    """max|r| / (1 − γ) over the run's training data (its X% subset, rewards shaped by its
    ``reward_transform``)."""
    if config.online:
        raise ValueError("q_bound needs an offline run (online data has no fixed max |r|)")
    gamma = float(config.resolved().agent["gamma"])
    return _max_abs_reward(config.dataset, config.subset, config.subset_seed,
                           config.reward_transform) / (1.0 - gamma)


def inflated_at(run: RunResult) -> int | None:
    """The first monitored step where the run's max |Q| passed :func:`q_bound` (or ``None``)."""
    return first_crossing_or_none(*run.series("q_abs_max"), q_bound(run.config), strict=True)
