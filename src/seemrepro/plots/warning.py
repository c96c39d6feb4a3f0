"""'Which signal warns first?': each signal's AUC over the checkpoints, and its rule's lead."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from seemrepro.core.warning import SIGNAL_NAMES
from seemrepro.plots import PALETTE, named_colors


def signal_colors(signals: list[str]) -> dict[str, str]:
    """SEEM in the book's LayerNorm blue, Q magnitude in red, the others from the palette."""
    return named_colors(signals, {"seem_normalized": PALETTE["layernorm"],
                                  "q_abs_max": PALETTE["none"]})


def auc_by_checkpoint(ax: Axes, aucs: pd.DataFrame, *, title: str = "") -> None:
    """One line per signal: AUC (with its 95% interval as a band) against the checkpoint.

    ``aucs`` has the columns of :func:`seemrepro.core.warning.checkpoint_aucs`.
    """
    signals = list(dict.fromkeys(aucs["signal"]))
    colors = signal_colors(signals)
    for signal in signals:
        rows = aucs[aucs["signal"] == signal].sort_values("checkpoint")
        x = 100 * rows["checkpoint"].to_numpy(float)
        width = 2.6 if signal in ("seem_normalized", "q_abs_max") else 1.4
        ax.plot(x, rows["AUC"], marker="o", lw=width, color=colors[signal],
                label=SIGNAL_NAMES.get(signal, signal))
        ax.fill_between(x, rows["low"].to_numpy(float), rows["high"].to_numpy(float),
                        color=colors[signal], alpha=0.08)
    ax.axhline(0.5, ls=":", color=PALETTE["neutral"])
    ax.set_xscale("log")
    ticks = sorted(set(100 * aucs["checkpoint"].to_numpy(float)))
    ax.set_xticks(ticks, [f"{t:g}%" for t in ticks])
    ax.minorticks_off()
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel("checkpoint (share of training)")
    ax.set_ylabel("AUC for 'Q will inflate'")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))


def lead_strip(ax: Axes, leads: Mapping[str, np.ndarray]) -> None:
    """Each rule's lead times (steps before Q inflated; negative: after) as points."""
    for row, (name, values) in enumerate(leads.items()):
        v = np.asarray(values, dtype=float)
        jitter = np.linspace(-0.15, 0.15, v.size) if v.size > 1 else np.zeros(v.size)
        ax.scatter(v, row + jitter, color=PALETTE["layernorm"], alpha=0.7)
    ax.axvline(0.0, ls=":", color=PALETTE["neutral"])
    ax.set_yticks(range(len(leads)), list(leads))
    ax.set_ylim(-0.6, len(leads) - 0.4)
    ax.set_xlabel("lead: steps before Q inflated")
