r"""Percentile intervals from a stratified bootstrap, and the interquartile mean (IQM).

A **stratified bootstrap** resamples each group (a task, a class) with replacement on its
own, keeping every group's size, and recomputes a statistic on the resampled groups; the
interval is the ``(1 − level)/2`` and ``(1 + level)/2`` quantiles of those draws. Agarwal et
al. (NeurIPS 2021) recommend it over tasks for aggregate RL scores: runs are resampled within
each task, so a task with few runs is never dropped from a draw.

The **interquartile mean** of values :math:`x_{(1)} \le \dots \le x_{(n)}` is the mean of the
middle half, :math:`k = \lfloor n/4 \rfloor` values cut from each end (as
``scipy.stats.trim_mean(x, 0.25)``): robust to a few outlying runs, and less noisy than the
median.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike


def stratified_bootstrap(groups: Sequence[ArrayLike],
                         statistic: Callable[[list[np.ndarray]], float], *,
                         level: float = 0.95, resamples: int = 2000,
                         seed: int = 0) -> tuple[float, float]:
    """A percentile interval for ``statistic(groups)``: every draw resamples each group with
    replacement to its own size (groups in order, from one generator seeded with ``seed``).
    NaN values are dropped first; (NaN, NaN) when a group is then empty."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    if resamples < 1:
        raise ValueError(f"resamples must be positive, got {resamples}")
    arrays = [np.asarray(g, dtype=float).ravel() for g in groups]
    arrays = [a[~np.isnan(a)] for a in arrays]
    if not arrays or any(a.size == 0 for a in arrays):
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    draws = np.array([statistic([rng.choice(a, a.size) for a in arrays])
                      for _ in range(resamples)])
    tail = (1.0 - level) / 2
    return float(np.quantile(draws, tail)), float(np.quantile(draws, 1.0 - tail))


def iqm(values: ArrayLike) -> float:
    """The interquartile mean of ``values`` (flattened, NaN dropped; NaN when none is left)."""
    x = np.sort(np.asarray(values, dtype=float).ravel())
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan
    cut = x.size // 4
    return float(x[cut:x.size - cut].mean())


def iqm_interval(scores_by_task: Mapping[str, ArrayLike], *, level: float = 0.95,
                 resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """The IQM over every run of every task, with a stratified-bootstrap interval that
    resamples runs within each task: ``(iqm, low, high)``."""
    if not scores_by_task:
        raise ValueError("no tasks to aggregate")
    groups = [np.asarray(v, dtype=float).ravel() for v in scores_by_task.values()]
    point = iqm(np.concatenate(groups))
    low, high = stratified_bootstrap(groups, lambda gs: iqm(np.concatenate(gs)), level=level,
                                     resamples=resamples, seed=seed)
    return point, low, high
