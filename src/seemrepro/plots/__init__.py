"""One figure style for the whole book, and the plots the chapters share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

PALETTE = {"none": "#c44e52", "layernorm": "#4c72b0", "reference": "#55a868",
           "prediction": "#8172b2", "neutral": "#4d4d4d"}


def named_colors(names: Sequence[str], fixed: Mapping[str, str] | None = None
                 ) -> dict[str, str]:
    """One colour per name: the ``fixed`` ones as given, the others in order from the
    colour-blind palette, leaving out its first four, which look like the book's fixed
    red and blue."""
    fixed = dict(fixed or {})
    others = [n for n in names if n not in fixed]
    spare = sns.color_palette("colorblind", len(others) + 4).as_hex()[4:]
    return {n: fixed[n] if n in fixed else spare[others.index(n)] for n in names}


def use_style() -> None:
    """The book's seaborn style: white grid, colour-blind palette, readable sizes."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind",
                  rc={"figure.dpi": 110, "savefig.dpi": 150, "axes.titleweight": "bold",
                      "axes.spines.top": False, "axes.spines.right": False,
                      "figure.constrained_layout.use": True})


def figure(ncols: int = 1, nrows: int = 1, *, width: float = 5.0,
           height: float = 3.8) -> tuple[Figure, np.ndarray]:
    use_style()
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False)
    return fig, axes.ravel()


def table(frame: Any, *, precision: int | None = None, formats: Mapping[str, str] | None = None
          ) -> Any:
    """A data frame as the book shows it: no positional index (0, 1, 2, ... is noise), numbers
    at ``precision`` digits or by per-column ``formats`` (e.g. ``{"error %": "{:.2f}"}``),
    missing values (None, NaN) as a dash.

    A frame indexed by something meaningful keeps that index: call ``set_index`` first.
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    styler = frame.style.format(precision=precision, na_rep="–")
    if formats:
        # without ``subset`` pandas re-formats every other column with its default precision
        styler = styler.format(dict(formats), na_rep="–", subset=list(formats))
    if isinstance(frame.index, pd.RangeIndex) and frame.index.name is None:
        styler = styler.hide(axis="index")
    return styler


def loglog_with_fit(ax: Axes, x: Sequence[float], y: Sequence[float], *, slope: float,
                    label: str, color: str | None = None, reference_slope: float | None = None
                    ) -> None:
    """Points on log-log axes with their least-squares line, and optionally a reference slope."""
    x_arr, y_arr = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ax.loglog(x_arr, y_arr, "o", color=color, label=f"{label} (slope {slope:.2f})")
    intercept = np.mean(np.log(y_arr) - slope * np.log(x_arr))
    ax.loglog(x_arr, np.exp(intercept) * x_arr ** slope, "-", color=color, alpha=0.6)
    if reference_slope is not None:
        anchor = np.exp(intercept) * x_arr[0] ** slope
        ax.loglog(x_arr, anchor * (x_arr / x_arr[0]) ** reference_slope, ":",
                  color=PALETTE["neutral"], label=f"slope {reference_slope:g} reference")
    ax.legend(frameon=False)


def heatmaps(maps: Mapping[str, np.ndarray], *, extent: tuple[float, float, float, float],
             marker: tuple[float, float] | None = None, colorbar_label: str = "") -> Figure:
    """Side-by-side heat maps, each with its own diverging colour scale centred on zero."""
    fig, axes = figure(len(maps), width=4.6, height=4.0)
    for ax, (title, values) in zip(axes, maps.items(), strict=True):
        low, high = float(np.min(values)), float(np.max(values))
        norm = TwoSlopeNorm(vcenter=0.0, vmin=min(low, -1e-12), vmax=max(high, 1e-12))
        image = ax.imshow(values, origin="lower", extent=extent, cmap="RdBu_r", norm=norm,
                          aspect="equal")
        if marker is not None:
            ax.plot(*marker, marker="*", color="gold", markersize=14, markeredgecolor="black")
        ax.set_title(title)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.grid(False)
        fig.colorbar(image, ax=ax, shrink=0.8, label=colorbar_label)
    return fig


def side_by_side_scores(table: Any, *, group: str = "algorithm", side: str = "library",
                        seed: str = "seed", value: str = "normalized_score",
                        ylabel: str = "final normalized score") -> Figure:
    """One panel per ``group``: each seed's ``value`` for every ``side`` as a dot, with the mean
    of each side as a bar (seeds of different sides are not paired)."""
    groups = list(dict.fromkeys(table[group]))
    sides = list(dict.fromkeys(table[side]))
    fig, axes = figure(len(groups), width=3.6, height=3.6)
    colors = sns.color_palette("colorblind", len(sides))
    for ax, name in zip(axes, groups, strict=True):
        part = table[table[group] == name]
        wide = part.pivot_table(index=seed, columns=side, values=value).reindex(columns=sides)
        for i, (s, c) in enumerate(zip(sides, colors, strict=True)):
            values = wide[s].to_numpy(float)
            ax.plot(np.full(len(values), i), values, "o", color=c, markersize=7)
            ax.hlines(np.nanmean(values), i - 0.25, i + 0.25, color=c, lw=2.5)
        ax.set_xticks(range(len(sides)), sides)
        ax.set_xlim(-0.6, len(sides) - 0.4)
        ax.set_title(str(name))
        ax.set_ylabel(ylabel)
    return fig
