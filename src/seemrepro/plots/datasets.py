"""The data chapter's figure: normalized episode-return histograms per dataset family."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from seemrepro import plots
from seemrepro.datasets.minari_io import normalized_score
from seemrepro.datasets.summary import complete_episode_returns, dataset_kind
from seemrepro.rl.buffers import TransitionBuffer

KIND_COLORS = {"random": "#8c8c8c", "medium": "#dd8452", "medium-replay": "#937860",
               "expert": "#4c72b0", "medium-expert": "#55a868"}


def return_histograms(groups: dict[str, Sequence[TransitionBuffer]],
                      bins: int = 40) -> tuple[Any, np.ndarray]:
    """One panel per family: the normalized episode-return histogram of each of its datasets."""
    fig, axes = plots.figure(len(groups), width=4.2, height=3.3)
    for ax, (family, buffers) in zip(axes, groups.items(), strict=True):
        _family_panel(ax, family, buffers, bins)
    return fig, axes


def _family_panel(ax: Axes, family: str, buffers: Sequence[TransitionBuffer], bins: int) -> None:
    all_scores = [normalized_score(complete_episode_returns(b), b) for b in buffers]
    lo = min(float(s.min()) for s in all_scores)
    hi = max(float(s.max()) for s in all_scores)
    edges = np.linspace(lo, hi + 1e-9, bins + 1)
    for b, scores in zip(buffers, all_scores, strict=True):
        kind = dataset_kind(b.metadata["dataset_id"])
        ax.hist(scores, bins=edges.tolist(), density=True, alpha=0.55, label=kind,
                color=KIND_COLORS.get(kind) if family != "pointmaze" else None)
    ax.set(xlabel="normalized episode return", ylabel="density", title=family)
    ax.legend(fontsize=8)
