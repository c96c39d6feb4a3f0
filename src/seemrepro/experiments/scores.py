"""Final scores of a claim's runs: per run, per variant, and beside the paper's numbers.

A run is evaluated once, at its last step ``config.steps`` (metrics ``normalized_score`` and
``return``). A run whose max |Q| passes the divergence threshold is stopped at that step
(``RunResult.diverged_at``) and never reaches its evaluation: it has **no score**. Its score is
missing (NaN), not zero, and every summary here keeps it out of the mean and reports the
divergence rate beside it. The rules that compare variants (:func:`at_least`,
:func:`ranks_first`, :func:`within`) follow from that: a variant without a score cannot be
"at least as good" as anything, and is no bar for another variant to pass.

Q has *inflated* at the first monitored step where max |Q| exceeds ``max|r| / (1 − γ)`` of
the run's own training data, a bound no true value can pass (the rule of T10,
:mod:`seemrepro.core.surge`).

The frames' columns are named as the book shows them, so a chapter can pass them straight to
:func:`seemrepro.plots.table`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from seemrepro.core.bootstrap import iqm_interval
from seemrepro.core.predict import first_crossing_or_none
from seemrepro.engine.config import RunConfig, RunResult
from seemrepro.experiments.events import q_bound

SCORE, RETURN = "normalized_score", "return"
# how a chapter shows a :func:`variant_scores` frame with :func:`seemrepro.plots.table`
SUMMARY_FORMATS = {"mean score": "{:.1f}", "std": "{:.1f}", "mean best": "{:.1f}",
                   "diverged": "{:.0%}", "Q inflated": "{:.0%}", "max |Q|": "{:.3g}"}
# ... and a :func:`task_aggregates` frame
TOTALS_FORMATS = {"total": "{:.1f}", "IQM": "{:.1f}", "IQM low": "{:.1f}", "IQM high": "{:.1f}",
                  "Q inflated": "{:.0%}", "max |Q|": "{:.3g}"}
# the columns of :func:`run_scores`
RUN_COLUMNS = ("variant", "seed", "score", "return", "diverged at", "Q bound", "max |Q|",
               "Q inflated at", "max SEEM", "best score")


def final_value(run: RunResult, metric: str = SCORE, *, last: int = 1) -> float:
    """``metric`` at the run's last step ``config.steps``, or with ``last = k`` the mean of its
    last ``k`` evaluations (steps > 0) up to and including that step (Table 1's "average of the
    last ten evaluations"). NaN when it was not recorded at the last step (a run stopped at
    divergence was never evaluated there). An evaluation at an earlier step alone (e.g. the
    fresh policy at step 0) is not a final score."""
    if last < 1:
        raise ValueError(f"last must be at least 1, got {last}")
    steps, values = run.series(metric)
    if not (steps == run.config.steps).any():
        return math.nan
    trained = values[steps > 0]
    return float(trained[-last:].mean())


def final_window_start(config: RunConfig, last: int) -> float:
    """Where the ``last`` evaluations that make a run's :func:`final_value` begin on a plot's
    step axis: half an evaluation interval before the first of them."""
    return config.steps - (last - 0.5) * config.monitors.eval_every


def median_final_value(runs: Iterable[RunResult], metric: str) -> float:
    """The median of :func:`final_value` over the runs that reached their last step (a run
    stopped at divergence has none); NaN when no run did."""
    values = [v for run in runs if not math.isnan(v := final_value(run, metric))]
    return float(np.median(values)) if values else math.nan


def best_value(run: RunResult, metric: str = SCORE) -> float:
    """The largest ``metric`` over the run's evaluations after step 0 (Diff-QL's "best score"),
    whether or not the run reached its last step; NaN when it has none."""
    steps, values = run.series(metric)
    return _max_or_nan(values[steps > 0])


def _max_or_nan(values: np.ndarray) -> float:
    finite_or_inf = values[~np.isnan(values)]
    return float(finite_or_inf.max()) if finite_or_inf.size else math.nan


def run_scores(variants: Mapping[str, Sequence[RunResult]], *,
               bound: Callable[[RunConfig], float] = q_bound, last: int = 1) -> pd.DataFrame:
    """One row per run, in the order of ``variants`` (e.g. ``GridRuns.variants``):

    * ``score``, ``return``: :func:`final_value` of ``normalized_score`` and ``return`` over the
      ``last`` evaluations (NaN: no evaluation at the last step);
    * ``diverged at``: the step the run stopped at because max |Q| passed the divergence
      threshold (None: it ran to the end);
    * ``Q bound``: ``bound(config)``, by default
      :func:`seemrepro.experiments.events.q_bound`; ``max |Q|``: the largest
      recorded ``q_abs_max``; ``Q inflated at``: the first monitored step with
      ``q_abs_max > Q bound`` (None: never);
    * ``max SEEM``: the largest recorded normalized SEEM (NaN when none was recorded);
    * ``best score``: :func:`best_value`, the best evaluation after step 0.
    """
    rows = []
    for name, runs in variants.items():
        for run in runs:
            limit = bound(run.config)
            q_steps, q_values = run.series("q_abs_max")
            seem = run.series("seem_normalized")[1]
            rows.append({
                "variant": name, "seed": run.config.seed,
                "score": final_value(run, SCORE, last=last),
                "return": final_value(run, RETURN, last=last), "diverged at": run.diverged_at,
                "Q bound": limit, "max |Q|": _max_or_nan(q_values),
                "Q inflated at": (first_crossing_or_none(q_steps, q_values, limit, strict=True)
                                  if q_values.size else None),
                "max SEEM": _max_or_nan(seem), "best score": best_value(run)})
    frame = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    for column in ("diverged at", "Q inflated at"):  # whole steps, missing where None
        frame[column] = frame[column].astype("Int64")
    return frame


def split_variant(runs: pd.DataFrame, names: Sequence[str], *, sep: str = " · ",
                  column: str = "variant") -> pd.DataFrame:
    """``runs`` with ``column`` ("hopper · LN") split into one column per name ("data",
    "critic"), placed first in place of ``column``."""
    parts = runs[column].str.split(sep, regex=False)
    if not parts.map(len).eq(len(names)).all():
        bad = runs[column][~parts.map(len).eq(len(names))].iloc[0]
        raise ValueError(f"variant {bad!r} does not split by {sep!r} into {len(names)} parts")
    split = pd.DataFrame(parts.tolist(), columns=list(names), index=runs.index)
    return pd.concat([split, runs.drop(columns=[column])], axis=1)


def variant_scores(runs: pd.DataFrame, by: str | Sequence[str] = "variant") -> pd.DataFrame:
    """One row per variant of :func:`run_scores` (groups in order of appearance):

    * ``runs``; ``scored``: runs with a final score;
    * ``mean score``: the mean over the scored runs (NaN when none was scored: the variant has
      no score); ``std``: their sample standard deviation (NaN with fewer than two);
    * ``diverged``: the fraction of runs stopped at divergence; ``Q inflated``: the fraction
      whose Q passed the bound; ``max SEEM`` and ``max |Q|``: the largest over the runs;
    * ``mean best``: the mean of the runs' best scores (every run evaluated after step 0).
    """
    keys = [by] if isinstance(by, str) else list(by)
    grouped = runs.groupby(keys, sort=False)
    return pd.DataFrame({
        "runs": grouped.size(),
        "scored": grouped["score"].count(),
        "mean score": grouped["score"].mean(),
        "std": grouped["score"].std(ddof=1),
        "diverged": grouped["diverged at"].agg(lambda s: float(s.notna().mean())),
        "Q inflated": grouped["Q inflated at"].agg(lambda s: float(s.notna().mean())),
        "max SEEM": grouped["max SEEM"].max(),
        "mean best": grouped["best score"].mean(),
        "max |Q|": grouped["max |Q|"].max(),
    })


def peak_drop(runs: pd.DataFrame, by: str | Sequence[str] = "variant") -> pd.Series:
    """Per variant of a :func:`run_scores` frame, the mean over its scored runs of
    ``best score − score``: how far the final score fell below the best evaluation (NaN for a
    variant without a scored run). It is never negative when ``score`` averages evaluations
    that ``best score`` also covers."""
    keys = [by] if isinstance(by, str) else list(by)
    drop = (runs["best score"] - runs["score"]).rename("drop")
    return drop.groupby([runs[k] for k in keys], sort=False).mean()


def score_diverged_as(runs: pd.DataFrame, score: float) -> pd.DataFrame:
    """A copy of a :func:`run_scores` frame where every run stopped at divergence, and so never
    evaluated at its last step, has final score ``score``. For claims about totals over tasks
    (Figs. 8, 9 and 12), which need a number for every run; the chapter states the value (the
    random policy's normalized score, 0, for a policy whose critic blew up)."""
    out = runs.copy()
    stopped = out["diverged at"].notna() & out["score"].isna()
    out.loc[stopped, "score"] = float(score)
    return out


def task_aggregates(runs: pd.DataFrame, by: Sequence[str], *, task: str = "task",
                    level: float = 0.95, resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """One row per group ``by`` of a :func:`run_scores` frame split into columns (e.g. by
    :func:`split_variant`), aggregating over its ``task`` column:

    * ``tasks``, ``runs``;
    * ``total``: the sum over tasks of the mean final score per task (Fig. 8's "total score";
      missing when a task has no scored run);
    * ``IQM``, ``IQM low``, ``IQM high``: the interquartile mean over all runs with a 95%
      (``level``) stratified-bootstrap interval that resamples runs within each task
      (:func:`seemrepro.core.bootstrap.iqm_interval`);
    * ``Q inflated``: the fraction of runs whose Q passed the bound; ``max |Q|``."""
    rows = []
    for key, group in runs.groupby(list(by), sort=False):
        per_task = group.groupby(task, sort=False)["score"]
        means = per_task.mean()
        scores = {name: values.to_numpy(dtype=float) for name, values in per_task}
        point, low, high = iqm_interval(scores, level=level, resamples=resamples, seed=seed)
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
                     "tasks": len(means), "runs": len(group),
                     "total": float(means.sum(skipna=False)),
                     "IQM": point, "IQM low": low, "IQM high": high,
                     "Q inflated": float(group["Q inflated at"].notna().mean()),
                     "max |Q|": float(group["max |Q|"].max())})
    return pd.DataFrame(rows).set_index(list(by))


def mean_over(summary: pd.DataFrame, over: str, *, column: str = "mean score") -> pd.Series:
    """The mean of ``column`` over the index level ``over`` of a :func:`variant_scores` frame
    grouped by several keys, for each value of the other keys (order kept). Missing when any
    term is missing: a variant without a score on one of the datasets has no mean over them."""
    levels = [name for name in summary.index.names if name != over]
    if len(levels) == len(summary.index.names):
        raise ValueError(f"{over!r} is not an index level of {summary.index.names}")
    return summary[column].groupby(level=levels, sort=False).agg(
        lambda s: float(s.mean(skipna=False)))


def beside_paper(frame: pd.DataFrame, paper: Mapping[str, float], *, label: str = "paper",
                 level: str | None = None) -> pd.DataFrame:
    """``frame`` with a column ``label`` holding the paper's number for each row, looked up by
    the row's index (or its index level ``level``); rows the paper has no number for get NaN.
    Every name in ``paper`` must appear in the frame, so a misspelt name fails loudly."""
    keys = frame.index if level is None else frame.index.get_level_values(level)
    missing = [name for name in paper if name not in set(keys)]
    if missing:
        raise ValueError(f"the paper's names {missing} are not in the frame's {list(keys)}")
    out = frame.copy()
    out[label] = [float(paper.get(key, math.nan)) for key in keys]
    return out


def _value(score: float | None) -> float:
    """A score as a float, NaN when missing (None or NaN)."""
    return math.nan if score is None else float(score)


def at_least(score: float | None, rivals: Iterable[float | None], margin: float) -> bool:
    """``score ≥ max(rivals) − margin``, over the rivals with a score. False when ``score`` is
    missing (no score is at least as good as anything); true when no rival has a score."""
    ours = _value(score)
    scored = [v for v in map(_value, rivals) if not math.isnan(v)]
    return not math.isnan(ours) and (not scored or ours >= max(scored) - margin)


def ranks_first(means: Mapping[str, float | None], name: str) -> bool:
    """``means[name]`` has a score and no other mean is higher (ties share the first rank);
    rivals without a score rank below every variant with one."""
    return at_least(means[name], (v for k, v in means.items() if k != name), 0.0)


def rank_of(means: Mapping[str, float | None], name: str) -> int | None:
    """1 + the number of variants with a strictly higher mean; None when ``name`` has no score
    (the variants without one are not ranked)."""
    ours = _value(means[name])
    if math.isnan(ours):
        return None
    return 1 + sum(1 for k, v in means.items() if k != name and _value(v) > ours)


def within(a: float | None, b: float | None, margin: float) -> bool:
    """``|a − b| ≤ margin``; false when either has no score (there is nothing to compare)."""
    x, y = _value(a), _value(b)
    return not (math.isnan(x) or math.isnan(y)) and abs(x - y) <= margin
