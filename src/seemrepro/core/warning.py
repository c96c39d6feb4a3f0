r"""Scoring divergence warning signals: how early and how well each one tells the runs apart.

A population of runs is labelled once, by an event fixed beforehand (in the book: Q inflating
past :math:`\max|r|/(1-\gamma)`). Each signal is then judged in two ways.

* **Early discrimination (AUC).** At a checkpoint :math:`c` each run contributes the signal's
  last recorded value at or before :math:`c` (:func:`~seemrepro.core.predict.value_at_or_before`; a run stopped at divergence
  keeps its last value). The AUC is the probability that a randomly chosen diverging run has a
  larger value than a randomly chosen bounded one, ties counting one half (the Mann-Whitney
  statistic divided by :math:`n_+ n_-`):

  .. math::

      \mathrm{AUC} = \frac{1}{n_+ n_-}\sum_{i \in +}\sum_{j \in -}
      \bigl(\mathbb{1}[v_i > v_j] + \tfrac12\,\mathbb{1}[v_i = v_j]\bigr).

  Signals for which *smaller* means divergence (the feature rank) are negated first
  (:data:`SIGNAL_DIRECTIONS`), so 0.5 is chance and 1 is perfect for every signal.
  :func:`auc_interval` gives a percentile interval from a bootstrap that resamples the
  diverging and the bounded runs separately (stratified), so every resample has both classes.
* **Lead time.** A signal with a rule fixed in advance (:class:`WarningRule`) fires at some
  step; its lead is the label event's step minus that step (positive: the warning came first).
  A rule that fires in a run that never diverges is a false alarm.

Signals without a rule fixed before the runs are scored by AUC only: a threshold tuned on the
same runs would make their lead times look better than they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from seemrepro.core.bootstrap import stratified_bootstrap
from seemrepro.core.predict import value_at_or_before
from seemrepro.core.surge import first_sustained_crossing

ArrayLike = Sequence[float] | np.ndarray

#: +1: larger values mean divergence; −1: smaller values do. Fixed before any run was scored.
SIGNAL_DIRECTIONS: dict[str, int] = {
    "seem_normalized": 1,
    "seem": 1,
    "q_abs_max": 1,
    "td_error": 1,
    "param_norm_growth": 1,
    "srank": -1,
    "dormant_ratio": 1,
    "q_churn": 1,
}

#: How the book names each recorded metric.
SIGNAL_NAMES: dict[str, str] = {
    "seem_normalized": "normalized SEEM",
    "seem": "raw SEEM",
    "q_abs_max": "Q magnitude (max |Q|)",
    "td_error": "TD error",
    "param_norm_growth": "parameter-norm growth",
    "srank": "feature rank (srank)",
    "dormant_ratio": "dormant-neuron ratio",
    "q_churn": "Q churn (held-out)",
}


def auc(positives: ArrayLike, negatives: ArrayLike) -> float:
    """P(a positive's value > a negative's value) + ½·P(equal); NaN values are left out, and
    the AUC is NaN when either class is then empty. ``±inf`` rank as extremes."""
    pos = np.asarray(positives, dtype=float)
    neg = np.asarray(negatives, dtype=float)
    pos, neg = pos[~np.isnan(pos)], neg[~np.isnan(neg)]
    if pos.size == 0 or neg.size == 0:
        return math.nan
    greater = (pos[:, None] > neg[None, :]).sum()
    equal = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * equal) / (pos.size * neg.size))


def auc_interval(positives: ArrayLike, negatives: ArrayLike, *, level: float = 0.95,
                 resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap interval for :func:`auc`, resampling each class on its own
    (:func:`seemrepro.core.bootstrap.stratified_bootstrap`)."""
    return stratified_bootstrap([positives, negatives], lambda g: auc(g[0], g[1]), level=level,
                                resamples=resamples, seed=seed)


def oriented(metric: str, values: ArrayLike) -> np.ndarray:
    """``values`` multiplied by the metric's direction, so that larger always means divergence."""
    if metric not in SIGNAL_DIRECTIONS:
        raise ValueError(f"no direction declared for {metric!r}; known: "
                         f"{', '.join(SIGNAL_DIRECTIONS)}")
    return SIGNAL_DIRECTIONS[metric] * np.asarray(values, dtype=float)


@dataclass(frozen=True)
class WarningRule:
    """A rule that fires at one step of a run's record, with its thresholds fixed in advance.

    ``fires(steps, values)`` returns the step or ``None``.
    """

    name: str
    metric: str
    description: str
    fires: Callable[[np.ndarray, np.ndarray], int | None]


def surge_rule(rise: float, persistence: int) -> WarningRule:
    """T10's rule: the normalized SEEM exceeds its step-0 value by more than ``rise`` for
    ``persistence`` consecutive monitored steps."""

    def fires(t: np.ndarray, y: np.ndarray) -> int | None:
        if y.size == 0 or t[0] != 0:
            return None
        return first_sustained_crossing(t, y, float(y[0]) + rise, persistence=persistence)

    return WarningRule("SEEM surge", "seem_normalized",
                       f"normalized SEEM above its step-0 value + {rise:g} for {persistence} "
                       "monitored steps", fires)


def positive_seem_rule(persistence: int) -> WarningRule:
    """Theorem 3's sign: the raw SEEM is positive for ``persistence`` consecutive monitored
    steps (no threshold to tune: the level is 0)."""

    def fires(t: np.ndarray, y: np.ndarray) -> int | None:
        return first_sustained_crossing(t, y, 0.0, persistence=persistence)

    return WarningRule("SEEM > 0", "seem", f"raw SEEM positive for {persistence} monitored "
                       "steps", fires)


@dataclass(frozen=True)
class RunRecord:
    """One run of the population: its label event and its signals' records."""

    name: str
    length: int  # planned gradient steps (checkpoints are fractions of it)
    event_at: int | None  # step of the label event (None: the run never diverged)
    signals: Mapping[str, tuple[np.ndarray, np.ndarray]]  # metric -> (steps, values)

    @property
    def diverged(self) -> bool:
        return self.event_at is not None


def checkpoint_aucs(runs: Sequence[RunRecord], metrics: Sequence[str],
                    fractions: Sequence[float], *, resamples: int = 2000,
                    before_event_only: bool = False) -> list[dict[str, object]]:
    """One row per (signal, checkpoint): the AUC, its 95% interval and how many runs of each
    class had a value by then. With ``before_event_only`` a diverging run counts only at the
    checkpoints before its event (the question a warning answers: not yet visibly diverged)."""
    rows: list[dict[str, object]] = []
    for metric in metrics:
        for fraction in fractions:
            pos: list[float] = []
            neg: list[float] = []
            for run in runs:
                if (before_event_only and run.event_at is not None
                        and run.event_at <= fraction * run.length):
                    continue
                t, y = run.signals.get(metric, (np.empty(0), np.empty(0)))
                v = float(oriented(metric, [value_at_or_before(t, y, fraction * run.length)])[0])
                (pos if run.diverged else neg).append(v)
            low, high = auc_interval(pos, neg, resamples=resamples)
            rows.append({"signal": metric, "checkpoint": fraction, "AUC": auc(pos, neg),
                         "low": low, "high": high,
                         "diverged with a value": int(np.sum(~np.isnan(pos))),
                         "bounded with a value": int(np.sum(~np.isnan(neg)))})
    return rows


def lead_times(runs: Sequence[RunRecord], rule: WarningRule) -> list[dict[str, object]]:
    """One row per run: where ``rule`` fired, the label event, and the lead (event − firing)."""
    rows: list[dict[str, object]] = []
    for run in runs:
        t, y = run.signals.get(rule.metric, (np.empty(0), np.empty(0)))
        fired = rule.fires(np.asarray(t, dtype=float), np.asarray(y, dtype=float))
        lead = (run.event_at - fired) if (fired is not None and run.event_at is not None) else None
        rows.append({"run": run.name, "rule": rule.name, "fired at": fired,
                     "diverged at": run.event_at, "lead": lead,
                     "false alarm": fired is not None and run.event_at is None})
    return rows


def rule_summary(name: str, rows: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """One rule's record over a population, from its :func:`lead_times` rows: among diverged
    runs, how often it fired first (lead ≥ 0), late or never; its false alarms among bounded
    runs; and its median lead (NaN when it never fired in time to have one)."""
    diverged = [r for r in rows if r["diverged at"] is not None]
    leads = [float(r["lead"]) for r in diverged if r["lead"] is not None]  # type: ignore[arg-type]
    return {"rule": name, "diverged runs": len(diverged),
            "fired first (lead ≥ 0)": sum(lead >= 0 for lead in leads),
            "fired late (lead < 0)": sum(lead < 0 for lead in leads),
            "never fired": sum(r["fired at"] is None for r in diverged),
            "false alarms": sum(bool(r["false alarm"]) for r in rows),
            "bounded runs": len(rows) - len(diverged),
            "median lead": float(np.median(leads)) if leads else math.nan}
