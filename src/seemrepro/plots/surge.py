"""Fig. 3 (right): normalized SEEM and max |Q| over training, runs with and without LayerNorm."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes

from seemrepro.plots import PALETTE


def surge_panels(seem_ax: Axes, q_ax: Axes,
                 runs: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray, np.ndarray,
                                                   np.ndarray]]],
                 *, q_bound: float, title: str = "",
                 colors: Mapping[str, str] | None = None, q_legend: bool = True) -> None:
    """One line per run: normalized SEEM on ``seem_ax``, max |Q| (log scale) on ``q_ax``.

    ``runs`` maps a critic's name ("no LN", "LN") to its runs, each ``(seem_steps,
    seem_normalized, q_steps, q_abs_max)``. The dotted line on the Q panel is ``q_bound``,
    above which Q has inflated. ``colors`` gives each name's colour; without it, names with
    "LN" (and not "no") are blue and the others red. ``q_legend=False`` leaves the Q panel
    without a legend (for many names, one legend elsewhere reads better).
    """
    for name, series in runs.items():
        color = (colors[name] if colors is not None else
                 PALETTE["layernorm"] if "LN" in name and "no" not in name else PALETTE["none"])
        for i, (seem_t, seem_y, q_t, q_y) in enumerate(series):
            label = name if i == 0 else None
            seem_ax.plot(seem_t, seem_y, color=color, alpha=0.75, label=label)
            q_ax.semilogy(q_t, q_y, color=color, alpha=0.75, label=label)
    q_ax.axhline(q_bound, ls=":", color=PALETTE["neutral"], label="max|r| / (1−γ)")
    seem_ax.axhline(0.0, lw=0.8, color=PALETTE["neutral"])
    for ax, ylabel in ((seem_ax, "normalized SEEM"), (q_ax, "max |Q| on X")):
        ax.set_xlabel("gradient step")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    seem_ax.set_ylim(-0.3, 1.05)
    if q_legend:
        q_ax.legend(frameon=False, fontsize="small")
