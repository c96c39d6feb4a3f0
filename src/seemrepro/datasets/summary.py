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


def behaviour_table(versions: Sequence[str]) -> pd.DataFrame:
    """One row per (environment, dataset version) with a committed recipe: the behaviour run's
    algorithm, steps, wall time, the chosen expert and medium snapshots, and the expert's return
    as a share of D4RL's reference expert."""
    from seemrepro.datasets.behaviour import LOCOMOTION_ENVS
    from seemrepro.datasets.generate import behaviour_root, has_recipe, load_recipe
    from seemrepro.datasets.resolve import reference_for

    rows = []
    for version in versions:
        for env_id in LOCOMOTION_ENVS:
            if not has_recipe(env_id, version):
                continue
            recipe = load_recipe(env_id, behaviour_root(version))
            reference = reference_for(env_id)
            expert = float(recipe["expert"]["recheck_return_mean"])
            rows.append({
                "env": env_id, "version": version, "algorithm": recipe["algorithm"],
                "random steps first": recipe["start_steps"],
                "training steps": recipe["training_steps"],
                "wall time (min)": recipe["training_wall_seconds"] / 60,
                "expert step": recipe["expert"]["step"], "expert eval return": expert,
                "share of D4RL expert": expert / reference[1] if reference else float("nan"),
                "medium step": recipe["medium"]["step"],
                "medium eval return": recipe["medium"]["eval_return_mean"],
                "replay snapshots": len(recipe["replay"])})
    return pd.DataFrame(rows).set_index(["env", "version"])
