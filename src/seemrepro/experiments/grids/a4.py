"""A4 (Sec. 5.1, Tables 1 and 2): Diff-QL with LayerNorm in the critic against Diff-QL and the
TD3+BC and IQL baselines on the three PointMaze datasets (the CPU stand-ins for AntMaze's
umaze, medium and large), rewards ×10 on success, and OPER-R's return-based rebalancing on
medium and large as in Table 1 ("ours"); Table 2's "ours without OPER-R" is the LN row.

Diff-QL uses SEEM's BC weight for every AntMaze dataset (0.5) and the shared maze settings of
:mod:`seemrepro.experiments.grids.mazes`; TD3+BC and IQL keep their papers' defaults, with IQL's
AntMaze expectile (0.9) and temperature (10). The book profile trains on the same 5% of each
maze's transitions as A3, where Q can grow within the steps two CPU cores allow; the large maze's
Diff-QL and Diff-QL + LN runs are A3's "BC 0.5" and "LN · BC 0.5" runs (same configs, trained
once)."""

from __future__ import annotations

from typing import Any

from seemrepro.engine.config import RunConfig
from seemrepro.experiments.grids import a3
from seemrepro.experiments.grids.mazes import (
    DATASETS,
    REWARD_TRANSFORM,
    diffql_agent,
    maze_monitors,
)
from seemrepro.experiments.spec import Grid
from seemrepro.runtime import by_profile

BC_WEIGHT = a3.WEAK_BC  # SEEM's diff_coef on all six AntMaze datasets
IQL_ANTMAZE = {"expectile": 0.9, "beta": 10.0}
OPER_R_MAZES = ("medium", "large")  # Table 1 uses OPER-R on medium and large only
OURS = "Diff-QL + LN (ours)"
# name -> (algorithm, agent options, sampler, mazes)
METHODS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "TD3+BC": ("td3bc", "baseline", "uniform", tuple(DATASETS)),
    "IQL": ("iql", "iql", "uniform", tuple(DATASETS)),
    "Diff-QL": ("diffql", "none", "uniform", tuple(DATASETS)),
    "Diff-QL + LN": ("diffql", "layernorm", "uniform", tuple(DATASETS)),
    "Diff-QL + LN + OPER-R": ("diffql", "layernorm", "oper-r", OPER_R_MAZES),
}
# Tables 1 and 2 (AntMaze, average of the last ten evaluations; the "play" datasets), by maze
PAPER_SCORES: dict[str, dict[str, float]] = {
    "TD3+BC": {"umaze": 40.2, "medium": 0.2, "large": 0.0},
    "IQL": {"umaze": 87.5, "medium": 71.2, "large": 39.6},
    "Diff-QL": {"umaze": 95.6, "medium": 0.0, "large": 1.6},
    "Diff-QL + LN": {"umaze": 94.3, "medium": 77.0, "large": 47.8},
    OURS: {"umaze": 94.3, "medium": 85.6, "large": 65.4},
}


def ours(maze: str) -> str:
    """The variant that is Table 1's "ours" on ``maze``: with OPER-R where Table 1 uses it."""
    return "Diff-QL + LN + OPER-R" if maze in OPER_R_MAZES else "Diff-QL + LN"


def with_ours(by_method: Any) -> Any:
    """A frame with one row per method and one column per maze (e.g. mean final scores), with
    Table 1's "ours" row added: each maze's value from :func:`ours` of that maze."""
    rows = by_method.copy()
    rows.loc[OURS] = [by_method.loc[ours(maze), maze] if maze in DATASETS else float("nan")
                      for maze in by_method.columns]
    return rows


def maze_table(summary: Any, column: str) -> Any:
    """One :func:`~seemrepro.experiments.scores.variant_scores` column (grouped by maze and
    method) as Tables 1-2 lay it out: a row per method plus :func:`with_ours`, a column per maze,
    and the mean over the mazes (missing when a maze is)."""
    wide = summary[column].unstack("maze").reindex(index=list(METHODS), columns=list(DATASETS))
    wide = with_ours(wide)
    wide["mean over mazes"] = wide[list(DATASETS)].mean(axis=1, skipna=False)
    return wide.rename_axis(index=None, columns=None)


def _agent(profile: str, kind: str) -> dict[str, Any]:
    if kind == "baseline":
        return {}
    if kind == "iql":
        return dict(IQL_ANTMAZE)
    return diffql_agent(profile, bc_weight=BC_WEIGHT, critic={"norm": kind})


def grid(profile: str) -> Grid:
    steps = by_profile(profile, smoke=400, book=30_000, paper=1_000_000)
    seeds = by_profile(profile, smoke=[0], book=[0, 1], paper=list(range(10)))
    monitors = maze_monitors(profile, steps)
    return Grid.over_seeds(
        {f"{maze} · {name}": RunConfig(algorithm, DATASETS[maze], steps=steps,
                                       subset=a3.subset(profile),
                                       reward_transform=REWARD_TRANSFORM, sampler=sampler,
                                       monitors=monitors, agent=_agent(profile, kind))
         for name, (algorithm, kind, sampler, mazes) in METHODS.items() for maze in mazes},
        seeds)
