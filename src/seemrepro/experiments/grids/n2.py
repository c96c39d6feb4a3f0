"""N2 (App. F.4, Table 5): where LayerNorm goes in a 256-256-256 critic. TD3 without target
EMA (τ = 1) on all of the walker2d medium-expert dataset, the setting where the plain critic
diverges within a few thousand steps at this scale (the N1 probe); no LN, LN on hidden layers
(0), (0,1), (1,2), (2), (0,1,2), and (0,1,2) without affine parameters. The policy is
evaluated at the end of each run; the normalized SEEM is monitored throughout."""

from __future__ import annotations

from typing import Any

from seemrepro.engine.config import RunConfig
from seemrepro.experiments.grids import a3, scored_monitors
from seemrepro.experiments.spec import Grid
from seemrepro.runtime import by_profile

DATASET = "seemrepro/walker2d/medium-expert-v0"
HIDDEN = (256, 256, 256)
PLACEMENTS: dict[str, dict[str, Any]] = {
    "none": {"norm": "none"},
    "(0)": {"norm": "layernorm", "norm_layers": [0]},
    "(0,1)": {"norm": "layernorm", "norm_layers": [0, 1]},
    "(1,2)": {"norm": "layernorm", "norm_layers": [1, 2]},
    "(2)": {"norm": "layernorm", "norm_layers": [2]},
    "(0,1,2)": {"norm": "layernorm"},
    "(0,1,2) no affine": {"norm": "layernorm", "norm_affine": False},
}
MAZE = "pointmaze-large"
# the paper's Table 5 (Diff-QL on antmaze-large-play), in the order of PLACEMENTS
PAPER_SCORES = (1.6, 0.0, 0.0, 8.3, 17.8, 72.7, 72.8)


def grid(profile: str) -> Grid:
    """The locomotion rows (variants named by placement) and :func:`maze_grid`'s rows."""
    steps = by_profile(profile, smoke=400, book=10_000, paper=1_000_000)
    seeds = by_profile(profile, smoke=[0], book=[0, 1, 2], paper=list(range(5)))
    monitors = scored_monitors(profile, steps, book_samples=512)
    locomotion = Grid.over_seeds(
        {name: RunConfig("td3", DATASET, steps=steps, monitors=monitors,
                         agent={"tau": 1.0, "critic": {"hidden": list(HIDDEN), **critic}})
         for name, critic in PLACEMENTS.items()}, seeds)
    return Grid({**locomotion.variants, **maze_grid(profile).variants})


def maze_seeds(profile: str) -> list[int]:
    """Two of A3's seeds at the book profile (seven placements at A3's length cost too much for
    three on two cores), all of them elsewhere."""
    return a3.seeds(profile)[:2] if profile == "book" else a3.seeds(profile)


def maze_grid(profile: str) -> Grid:
    """The maze rows: Table 5's own algorithm, Diff-QL with the weak BC weight on PointMaze-large
    (the A3 setting), with the seven placements on its three hidden layers; "none" and
    "(0,1,2)" are A3's "BC 0.5" and "LN · BC 0.5" runs."""
    return Grid.over_seeds({f"{MAZE} · {name}": a3.run(profile, a3.WEAK_BC, critic)
                            for name, critic in PLACEMENTS.items()}, maze_seeds(profile))
