"""Figures for T8 (Fig. 15: the policy's actions at the corners of the action box) and T9
(Fig. 1, Figs. 16-18: directions that stop changing after t0)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes

from seemrepro.plots import PALETTE, named_colors

Series = tuple[np.ndarray, np.ndarray]

COSINE_TITLES = {"cos_critic_params": "critic parameters", "cos_actor_params": "actor parameters",
                 "cos_actions": "policy actions on X", "cos_ntk": "critic NTK on X"}


def corner_panel(ax: Axes, runs: Mapping[str, Sequence[Series]], *, data_ratio: float,
                 levels: Mapping[str, float] | None = None,
                 emphasized: Sequence[str] = ("none", "LN"), title: str = "") -> None:
    """The policy's corner ratio over training, one line per run.

    ``runs`` maps a variant's name to its runs' (steps, ratio) series. The ``emphasized``
    variants ('none' red, 'LN' blue) are drawn bold, the others thin and light. The dashed line
    is the dataset actions' ratio ``data_ratio``; ``levels`` (label → value) are drawn as
    dotted lines.
    """
    fixed = {"none": PALETTE["none"], "LN": PALETTE["layernorm"]}
    colors = named_colors(list(runs), {v: fixed[v] for v in emphasized if v in fixed})
    for name, series in runs.items():
        bold = name in emphasized
        for i, (t, y) in enumerate(series):
            ax.plot(t, y, color=colors[name], lw=2.2 if bold else 1.1,
                    alpha=0.9 if bold else 0.6, zorder=3 if bold else 2,
                    label=name if i == 0 else None)
    ax.axhline(data_ratio, ls="--", lw=1.5, color=PALETTE["neutral"], label="dataset actions")
    for label, value in (levels or {}).items():
        ax.axhline(value, ls=":", lw=1.0, color=PALETTE["neutral"])
        ax.annotate(label, (0.01, value), xycoords=("axes fraction", "data"), ha="left",
                    va="bottom", fontsize=8, color=PALETTE["neutral"])
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel("gradient step")
    ax.set_ylabel("mean ‖a‖ / corner norm")
    ax.set_title(title)


@dataclass(frozen=True)
class DirectionTrace:
    """One run's record for :func:`direction_panels`."""

    label: str
    cosines: Mapping[str, Series]  # metric name → (snapshot steps, cosine to the last one)
    param_norm: Series
    q_abs_max: Series
    t0: float


def direction_panels(axes: Sequence[Axes], runs: Sequence[DirectionTrace], *,
                     cosine_level: float, q_bound: float) -> None:
    """Six panels: the four cosines to the last snapshot (critic and actor parameters,
    actions, NTK, in the order of :data:`COSINE_TITLES`), the critic's ‖θ‖ and max |Q| on X
    (log scale). One colour per run; a dashed vertical line at each run's t0, a dotted line at
    ``cosine_level`` on the cosine panels and at ``q_bound`` on the Q panel."""
    if len(axes) != 6:
        raise ValueError(f"direction_panels needs six axes, got {len(axes)}")
    for index, run in enumerate(runs):
        color = f"C{index % 10}"
        for ax, name in zip(axes[:4], COSINE_TITLES, strict=True):
            ax.plot(*run.cosines[name], "o-", ms=3, color=color, label=run.label)
        axes[4].plot(*run.param_norm, color=color, label=run.label)
        axes[5].semilogy(*run.q_abs_max, color=color, label=run.label)
    for ax, (name, title) in zip(axes[:4], COSINE_TITLES.items(), strict=True):
        ax.axhline(cosine_level, ls=":", color=PALETTE["neutral"])
        ax.set_title(title)
        ax.set_ylabel("cosine to the last snapshot")
        low = min([float(np.nanmin(r.cosines[name][1])) for r in runs] + [cosine_level])
        ax.set_ylim(max(-1.05, low - 0.05), 1.02)
    axes[4].set_title("critic parameter norm")
    axes[4].set_ylabel("‖θ‖")
    axes[5].set_title("max |Q| on X")
    axes[5].set_ylabel("max |Q|")
    axes[5].axhline(q_bound, ls=":", color=PALETTE["neutral"], label="max|r| / (1−γ)")
    for ax in axes:
        for t0 in sorted({r.t0 for r in runs}):
            ax.axvline(t0, ls="--", lw=1.0, color=PALETTE["neutral"])
        ax.set_xlabel("gradient step")
    axes[5].legend(frameon=False, fontsize="small")
