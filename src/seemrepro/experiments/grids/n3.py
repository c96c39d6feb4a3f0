"""N3 (App. F.3, Fig. 13, Table 4): LayerNorm against BatchNorm and WeightNorm (output layer)
in the critic of TD3+BC (α = 2.5, target EMA τ = 0.005, the algorithm's defaults) on 10% of
the hopper, walker2d and halfcheetah medium datasets (20,000 transitions each). The policy is
evaluated at the end of each run; the normalized SEEM is monitored throughout.

The maze rows are Table 4's own algorithm: Diff-QL with the weak BC weight on PointMaze-large,
the A3 setting (:mod:`seemrepro.experiments.grids.a3`), with the same four critics; its "none"
and "LN" runs are A3's "BC 0.5" and "LN · BC 0.5" runs."""

from __future__ import annotations

from typing import Any

from seemrepro.engine.config import RunConfig
from seemrepro.experiments.grids import a3, scored_monitors
from seemrepro.experiments.spec import Grid
from seemrepro.runtime import by_profile

DATASETS = {env: f"seemrepro/{env}/medium-v0" for env in ("hopper", "walker2d", "halfcheetah")}
SUBSET = 0.1
BC_ALPHA = 2.5
CRITICS: dict[str, dict[str, Any]] = {
    "none": {"norm": "none"},
    "LN": {"norm": "layernorm"},
    "BN": {"norm": "batchnorm"},
    "WN": {"weight_norm": "output"},
}
MAZE = "pointmaze-large"
# the paper's Table 4 (Diff-QL on antmaze-large-play), in the order of CRITICS
PAPER_SCORES = (1.6, 72.7, 1.0, 35.0)


def grid(profile: str) -> Grid:
    steps = by_profile(profile, smoke=400, book=10_000, paper=1_000_000)
    seeds = by_profile(profile, smoke=[0], book=[0, 1, 2], paper=list(range(5)))
    monitors = scored_monitors(profile, steps, book_samples=1024)
    locomotion = Grid.over_seeds(
        {f"{env} · {name}": RunConfig("td3", dataset, steps=steps, subset=SUBSET,
                                      monitors=monitors,
                                      agent={"bc_alpha": BC_ALPHA, "critic": critic})
         for env, dataset in DATASETS.items() for name, critic in CRITICS.items()}, seeds)
    maze = Grid.over_seeds({f"{MAZE} · {name}": a3.run(profile, a3.WEAK_BC, critic)
                            for name, critic in CRITICS.items()}, a3.seeds(profile))
    return Grid({**locomotion.variants, **maze.variants})
