"""T10 (Fig. 3 right, Figs. 19-20): TD3 without target EMA (τ = 1) or BC on 2% of the
hopper and walker2d medium datasets (4,000 transitions each), with and without LayerNorm in
the critic; max |Q| and the normalized SEEM on M distinct transitions, monitored at the same
steps. M = 2,560 at the book profile, as the paper's code uses."""

from __future__ import annotations

from seemrepro.engine.config import MonitorConfig, RunConfig
from seemrepro.experiments.spec import Grid
from seemrepro.runtime import by_profile

DATASETS = {"hopper": "seemrepro/hopper/medium-v0", "walker2d": "seemrepro/walker2d/medium-v0"}
SUBSET = 0.02
CRITICS = {"no LN": {"norm": "none"}, "LN": {"norm": "layernorm"}}


def grid(profile: str) -> Grid:
    steps = by_profile(profile, smoke=1500, book=1000, paper=100_000)
    seeds = by_profile(profile, smoke=[0], book=[0, 1, 2], paper=list(range(5)))
    every = by_profile(profile, smoke=50, book=50, paper=1000)
    samples = by_profile(profile, smoke=256, book=2560, paper=2560)
    monitors = MonitorConfig(q_every=every, seem_every=every, seem_samples=samples,
                             checkpoint_every=250)
    return Grid.over_seeds(
        {f"{env} · {name}": RunConfig("td3", dataset, steps=steps, subset=SUBSET,
                                      monitors=monitors, agent={"tau": 1.0, "critic": critic})
         for env, dataset in DATASETS.items() for name, critic in CRITICS.items()}, seeds)
