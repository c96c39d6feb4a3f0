"""Final scores per variant with every seed as a point, and max |Q| over training per variant."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.transforms import blended_transform_factory

from seemrepro.plots import PALETTE, named_colors

NO_SCORE_LABEL = "stopped at divergence: no score"


def score_dots(ax: Axes, runs: Any, *, x: str = "variant", order: Sequence[str] | None = None,
               paper: Mapping[str, float] | None = None, paper_label: str = "paper",
               colors: Mapping[str, Any] | None = None,
               ylabel: str = "final normalized score") -> None:
    """Each run's ``score`` (a :func:`seemrepro.experiments.scores.run_scores` frame) as a
    point above its ``x`` value, the mean of the scored runs as a short bar. A run without a
    score (stopped at divergence) is a red × at the foot of the panel, not a point at 0.
    ``paper`` adds the paper's number per ``x`` value as an open grey diamond."""
    names = list(order) if order is not None else list(dict.fromkeys(runs[x]))
    colors = colors or named_colors(names)
    foot = blended_transform_factory(ax.transData, ax.transAxes)
    unscored_labelled = paper_labelled = False
    for i, name in enumerate(names):
        part = runs[runs[x] == name]
        scores = part["score"].to_numpy(float)
        scored = scores[~np.isnan(scores)]
        offsets = np.linspace(-0.12, 0.12, len(scores)) if len(scores) > 1 else np.zeros(1)
        keep = ~np.isnan(scores)
        ax.plot(i + offsets[keep], scored, "o", color=colors[name], markersize=6, alpha=0.85)
        if scored.size:
            ax.hlines(scored.mean(), i - 0.28, i + 0.28, color=colors[name], lw=2.5)
        if (~keep).any():
            ax.plot(i + offsets[~keep], np.full(int((~keep).sum()), 0.04), "x",
                    color=PALETTE["none"], markersize=8, mew=2, transform=foot, clip_on=False,
                    label=None if unscored_labelled else NO_SCORE_LABEL)
            unscored_labelled = True
        value = math.nan if paper is None else paper.get(name, math.nan)
        if not math.isnan(value):
            ax.plot(i, value, "D", mfc="none", mec=PALETTE["neutral"], markersize=8, mew=1.5,
                    label=None if paper_labelled else paper_label)
            paper_labelled = True
    # zero in view (a score is read against the random policy's 0), and room at the foot when
    # there are crosses, so that none covers a point or a bar
    shown = [0.0, *runs.loc[runs[x].isin(names), "score"].dropna().astype(float),
             *(v for k, v in (paper or {}).items() if k in names and not math.isnan(v))]
    low, high = min(shown), max(shown)
    pad = 0.06 * (high - low) or 1.0
    ax.set_ylim(low - pad - (0.12 * (high - low) if unscored_labelled else 0.0), high + pad)
    ax.set_xticks(range(len(names)), names, rotation=30 if len(names) > 4 else 0,
                  ha="right" if len(names) > 4 else "center")
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylabel(ylabel)


def metric_curves(ax: Axes, curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]], *,
                  ylabel: str, log: bool = False, colors: Mapping[str, Any] | None = None,
                  title: str = "") -> None:
    """A metric over training, one line per run, one colour per variant (``curves`` maps a
    variant to its runs' ``(steps, values)``), on a log scale when ``log``."""
    colors = colors or named_colors(list(curves))
    plot = ax.semilogy if log else ax.plot
    for name, runs in curves.items():
        for i, (steps, values) in enumerate(runs):
            plot(steps, values, color=colors[name], alpha=0.8, label=name if i == 0 else None)
    ax.set_xlabel("gradient step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def q_curves(ax: Axes, curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]], *,
             q_bound: float | None = None, colors: Mapping[str, Any] | None = None,
             title: str = "") -> None:
    """max |Q| over training on a log scale (:func:`metric_curves` of ``q_abs_max``); the
    dotted line is the bound ``max|r| / (1 − γ)`` above which Q has inflated."""
    metric_curves(ax, curves, ylabel="max |Q| on X", log=True, colors=colors, title=title)
    if q_bound is not None:
        ax.axhline(q_bound, ls=":", color=PALETTE["neutral"], label="max|r| / (1−γ)")


def score_curves(ax: Axes, curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]], *,
                 colors: Mapping[str, Any] | None = None, final_from: float | None = None,
                 ylabel: str = "normalized score", title: str = "") -> None:
    """Evaluation scores over training as in the paper's Fig. 7: one thin line per run, and per
    variant a thick line for the mean over its runs at the steps every run reached (``curves``
    maps a variant to its runs' ``(steps, normalized_score)``). A run that stopped early (at
    divergence) ends in a red ×. ``final_from`` shades the steps whose evaluations make the
    final score (Table 1's last ten evaluations)."""
    colors = colors or named_colors(list(curves))
    longest = max((float(s.max()) for runs in curves.values() for s, _ in runs if s.size),
                  default=0.0)
    for name, runs in curves.items():
        for steps, values in runs:
            ax.plot(steps, values, color=colors[name], lw=0.8, alpha=0.35)
            if steps.size and steps.max() < longest:
                ax.plot(steps[-1], values[-1], "x", color=PALETTE["none"], markersize=8, mew=2)
        common = [s for s, _ in runs if s.size]
        if not common:
            continue
        shared = functools.reduce(np.intersect1d, common)
        if shared.size:
            mean = np.mean([v[np.isin(s, shared)] for s, v in runs if s.size], axis=0)
            ax.plot(shared, mean, color=colors[name], lw=2.4, label=name)
    if final_from is not None:
        ax.axvspan(final_from, longest, color=PALETTE["neutral"], alpha=0.12, lw=0,
                   label="final-score window")
    ax.set_xlabel("gradient step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def paired_bars(ax: Axes, groups: Sequence[str], values: Mapping[str, Sequence[float]], *,
                low: Mapping[str, Sequence[float]] | None = None,
                high: Mapping[str, Sequence[float]] | None = None,
                colors: Mapping[str, Any] | None = None, ylabel: str = "",
                title: str = "") -> None:
    """Side-by-side bars, one cluster per group (e.g. "TD3+BC · 1%") and one bar per series
    in it (e.g. the critic: none, LN), as Figs. 8 and 9 draw totals; ``low``/``high`` draw an
    interval on each bar (NaN: none). A missing value (NaN) leaves its bar out."""
    names = list(values)
    colors = colors or named_colors(names)
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(groups))
    for i, name in enumerate(names):
        heights = np.asarray(values[name], dtype=float)
        if len(heights) != len(groups):
            raise ValueError(f"{name!r} has {len(heights)} values for {len(groups)} groups")
        offset = x + (i - (len(names) - 1) / 2) * width
        shown_bars = ~np.isnan(heights)
        bars = ax.bar(offset[shown_bars], heights[shown_bars], width, color=colors[name],
                      label=name, alpha=0.9)
        ax.bar_label(bars, fmt="%.0f", fontsize="x-small", padding=2)  # a 0 bar stays visible
        if low is not None and high is not None:
            lo = np.asarray(low[name], dtype=float)
            hi = np.asarray(high[name], dtype=float)
            shown = ~(np.isnan(lo) | np.isnan(hi) | np.isnan(heights))
            ax.vlines(offset[shown], lo[shown], hi[shown], color=PALETTE["neutral"], lw=1.4)
    ax.axhline(0.0, color=PALETTE["neutral"], lw=0.6)
    ax.set_xticks(x, groups, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
