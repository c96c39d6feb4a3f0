"""Figures for the divergence-prediction chapters (T4-T7, T6 offline), in the book's one style."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes

from seemrepro.core.predict import AdamGrowth, SingularStepPrediction
from seemrepro.core.toy import TDTrace
from seemrepro.plots import PALETTE


def inverse_power_panel(ax: Axes, traces: Mapping[int, TDTrace],
                        predictions: Mapping[int, SingularStepPrediction], *, depth: int,
                        value: str = "td_error_norm") -> None:
    """``1/value^p`` per seed (``value``: ``"td_error_norm"``, ‖u_t‖, or ``"mean_q"``, the mean
    Q on the dataset, as Fig. 2 plots it), with the fitted line, the predicted and the
    observed event."""
    exponent = (2 * depth - 2) / depth
    symbol = {"td_error_norm": r"\|u_t\|", "mean_q": r"\bar Q_t"}[value]
    for index, (seed, trace) in enumerate(traces.items()):
        color = f"C{index % 10}"
        a = trace.arrays()
        with np.errstate(divide="ignore", invalid="ignore"):
            inverse = np.where(a[value] > 0, a[value] ** -exponent, np.nan)
        ax.plot(a["steps"], inverse, color=color, lw=1.2,
                label=f"seed {seed}" + ("" if trace.diverged else " (converges)"))
        if seed in predictions and trace.diverged_at is not None:
            p = predictions[seed]
            t = np.linspace(p.window[0], p.step, 50)
            ax.plot(t, p.fit(t), ":", color=color, lw=2)
            ax.axvspan(*p.window, color=color, alpha=0.12)
            ax.plot([p.step], [0], "v", color=color, ms=8)
            ax.axvline(trace.diverged_at, color=color, ls="--", lw=0.8)
    top = ax.get_ylim()[1]
    if value == "mean_q" and predictions:  # 1/Q̄ is huge while Q̄ is near zero at the start
        top = 2.0 * max(float(p.fit(p.window[0])) for p in predictions.values())
    ax.set_ylim(-0.02 * top, top)
    power = "" if depth == 2 else f"^{{{exponent:.3g}}}"
    ax.set_xlabel("SGD step $t$")
    ax.set_ylabel(rf"$1/{symbol}{power}$")
    ax.set_title(f"L = {depth}: fit (dotted), predicted ▼, observed crash (dashed)",
                 fontsize=10)
    ax.legend(frameon=False, fontsize=8)


def lead_error_panel(ax: Axes, curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]],
                     *, lead_min: float, error_max: float, title: str) -> None:
    """Error of the predicted singular step (%) against the window's lead (fraction of the run).

    ``curves`` maps a group label to one (lead fractions, errors %) pair per run; the shaded
    region is the target (lead ≥ ``lead_min`` and |error| ≤ ``error_max``).
    """
    for index, (label, runs) in enumerate(curves.items()):
        for run, (leads, errors) in enumerate(runs):
            ax.plot(leads, errors, color=f"C{index % 10}", lw=1, alpha=0.8,
                    label=label if run == 0 else None)
    right = max([lead_min * 2] + [float(np.max(leads)) for runs in curves.values()
                                  for leads, _ in runs])
    ax.fill_between([lead_min, right], -error_max, error_max, color=PALETTE["neutral"],
                    alpha=0.2, lw=0, label=f"target: lead ≥ {lead_min:.0%}, |error| ≤ "
                    f"{error_max:g}%")
    ax.axhline(0, color=PALETTE["neutral"], lw=0.8)
    ax.axvline(lead_min, color=PALETTE["neutral"], ls="--", lw=0.8)
    ax.set_xlabel("lead: (crash − window end) / crash")
    ax.set_ylabel("error of the predicted crash step (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(frameon=False, fontsize=8)


def seem_and_q_panel(ax: Axes, trace: TDTrace, title: str, *, t0: int | None = None) -> None:
    """Normalized SEEM (left axis) and max |Q| (right axis, log) over training, with the
    critical point ``t0`` as a dotted line when given."""
    s, a = trace.seem_arrays(), trace.arrays()
    ax.plot(s["seem_steps"], s["seem_normalized"], color=PALETTE["none"], label="normalized SEEM")
    ax.axhline(0, color=PALETTE["neutral"], lw=0.8)
    if t0 is not None:
        ax.axvline(t0, color=PALETTE["neutral"], ls=":", lw=1.2)
        ax.annotate("$t_0$", (t0, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -12), textcoords="offset points", fontsize=9)
    ax.set_xlabel("SGD step")
    ax.set_ylabel("normalized SEEM", color=PALETTE["none"])
    twin = ax.twinx()
    twin.semilogy(a["steps"], a["max_abs_q"], color=PALETTE["layernorm"], label="max |Q|")
    twin.set_ylabel("max |Q|", color=PALETTE["layernorm"])
    twin.grid(False)
    ax.set_title(title, fontsize=10)


def adam_growth_panels(axes: Sequence[Axes],
                       curves: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, AdamGrowth]],
                       *, t0: int, step_label: str, q_label: str) -> None:
    """Theorem 4's two views: ‖θ_t‖ with its line fitted after ``t0``, and max |Q| on log-log
    axes with time counted from where that line reaches zero.

    ``curves`` holds (label, steps, parameter norm, max |Q|, growth fit) per run.
    """
    for index, (label, t, norm, q, growth) in enumerate(curves):
        color, late = f"C{index % 10}", t >= t0
        axes[0].plot(t, norm, color=color, label=label)
        axes[0].plot(t[late], growth.norm_fit(t[late]), ":", color="k")
        axes[1].loglog(t[late] - growth.norm_fit.root, q[late], color=color,
                       label=f"{label}, slope {growth.q_loglog_slope_shifted:.2f}")
    axes[0].set_xlabel(step_label)
    axes[0].set_ylabel(r"$\|\theta_t\|$ (dotted: fit after $t_0$)")
    axes[1].set_xlabel(r"$t - t_{\mathrm{origin}}$")
    axes[1].set_ylabel(q_label)
    for ax in axes[:2]:
        ax.legend(frameon=False, fontsize=8)
