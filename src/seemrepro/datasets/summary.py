"""Per-dataset summaries for the data chapter: sizes, returns and normalized scores."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seemrepro.datasets.minari_io import MissingReferenceScoresError, normalized_score
from seemrepro.rl.buffers import TransitionBuffer


def complete_episode_returns(buffer: TransitionBuffer) -> np.ndarray:
    """Returns of episodes that ended by termination or at the environment's time limit.

    Episodes cut where a dataset reached its size are left out: their partial returns
    would bias the data's score downwards.
    """
    returns = np.asarray(buffer.metadata["episode_returns"], dtype=np.float64)
    lengths = np.asarray(buffer.metadata["episode_lengths"])
    ends = np.cumsum(lengths) - 1
    limit = buffer.metadata.get("max_episode_steps")
    terminal = buffer.terminals[ends].numpy() > 0
    complete = terminal | (lengths == limit) if limit else np.ones_like(terminal)
    return returns[complete] if complete.any() else returns


def dataset_kind(dataset_id: str) -> str:
    return dataset_id.rsplit("/", 1)[-1].rsplit("-v", 1)[0]


def summary_row(buffer: TransitionBuffer, description: str | None = None) -> dict[str, Any]:
    meta = buffer.metadata
    returns = complete_episode_returns(buffer)
    try:
        scores = normalized_score(returns, buffer)
        score, score_std = float(scores.mean()), float(scores.std())
    except MissingReferenceScoresError:
        score = score_std = float("nan")
    size = sum(p.stat().st_size for p in Path(meta["path"]).rglob("*") if p.is_file())
    return {
        "dataset": meta["dataset_id"], "env": meta.get("env_id"), "transitions": len(buffer),
        "episodes": int(meta["total_episodes"]), "return_mean": float(returns.mean()),
        "return_std": float(returns.std()), "normalized_score": score,
        "normalized_std": score_std, "ref_min": meta.get("ref_min_score"),
        "ref_max": meta.get("ref_max_score"), "size_mb": size / 1e6,
        "recipe": description if description is not None else meta.get("description"),
    }


def summary_table(buffers: Sequence[TransitionBuffer]) -> pd.DataFrame:
    return pd.DataFrame([summary_row(b) for b in buffers]).set_index("dataset")
