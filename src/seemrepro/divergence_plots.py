"""Figures for the divergence-prediction chapters (T4-T7), in the book's one style."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes

from seemrepro.plots import PALETTE
from seemrepro.predict import SingularStepPrediction
from seemrepro.toy import TDTrace


def inverse_power_panel(ax: Axes, traces: Mapping[int, TDTrace],
                        predictions: Mapping[int, SingularStepPrediction], *, depth: int) -> None:
    """``1/‖u_t‖^p`` per seed, with the fitted line, the predicted and the observed event."""
    exponent = (2 * depth - 2) / depth
    for index, (seed, trace) in enumerate(traces.items()):
        color = f"C{index % 10}"
        a = trace.arrays()
        ax.plot(a["steps"], a["td_error_norm"] ** -exponent, color=color, lw=1.2,
                label=f"seed {seed}" + ("" if trace.diverged else " (converges)"))
        if seed in predictions and trace.diverged_at is not None:
            p = predictions[seed]
            t = np.linspace(p.window[0], p.step, 50)
            ax.plot(t, p.fit(t), ":", color=color, lw=2)
            ax.axvspan(*p.window, color=color, alpha=0.12)
            ax.plot([p.step], [0], "v", color=color, ms=8)
            ax.axvline(trace.diverged_at, color=color, ls="--", lw=0.8)
    ax.set_ylim(bottom=-0.02 * ax.get_ylim()[1])
    power = "" if depth == 2 else f"^{{{exponent:.3g}}}"
    ax.set_xlabel("SGD step $t$")
    ax.set_ylabel(rf"$1/\|u_t\|{power}$")
    ax.set_title(f"L = {depth}: fit (dotted), predicted ▼, observed overflow (dashed)",
                 fontsize=10)
    ax.legend(frameon=False, fontsize=8)


def seem_and_q_panel(ax: Axes, trace: TDTrace, title: str) -> None:
    """Normalized SEEM (left axis) and max |Q| (right axis, log) over training."""
    s, a = trace.seem_arrays(), trace.arrays()
    ax.plot(s["seem_steps"], s["seem_normalized"], color=PALETTE["none"], label="normalized SEEM")
    ax.axhline(0, color=PALETTE["neutral"], lw=0.8)
    ax.set_xlabel("SGD step")
    ax.set_ylabel("normalized SEEM", color=PALETTE["none"])
    twin = ax.twinx()
    twin.semilogy(a["steps"], a["max_abs_q"], color=PALETTE["layernorm"], label="max |Q|")
    twin.set_ylabel("max |Q|", color=PALETTE["layernorm"])
    twin.grid(False)
    ax.set_title(title, fontsize=10)
