"""N3 (App. F.3, Fig. 13, Table 4): LayerNorm against BatchNorm and WeightNorm (output layer)
in the critic of TD3+BC (α = 2.5, target EMA τ = 0.005, the algorithm's defaults) on 10% of
the hopper, walker2d and halfcheetah medium datasets (20,000 transitions each). The policy is
evaluated at the end of each run; the normalized SEEM is monitored throughout."""

from __future__ import annotations

from typing import Any

from seemrepro.engine.config import RunConfig
from seemrepro.experiments.grids import scored_monitors
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
# the paper's Table 4 (Diff-QL on antmaze-large-play), in the order of CRITICS
PAPER_SCORES = (1.6, 72.7, 1.0, 35.0)


def grid(profile: str) -> Grid:
    steps = by_profile(profile, smoke=400, book=10_000, paper=1_000_000)
    seeds = by_profile(profile, smoke=[0], book=[0, 1, 2], paper=list(range(5)))
    monitors = scored_monitors(profile, steps, book_samples=1024)
    return Grid.over_seeds(
        {f"{env} · {name}": RunConfig("td3", dataset, steps=steps, subset=SUBSET,
                                      monitors=monitors,
                                      agent={"bc_alpha": BC_ALPHA, "critic": critic})
         for env, dataset in DATASETS.items() for name, critic in CRITICS.items()}, seeds)
