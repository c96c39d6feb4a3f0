"""T10 (Fig. 3 right): TD3 without target EMA on a 10% subset of random Hopper-v5 rollouts,
with and without LayerNorm in the critic; Q and normalized SEEM (M = 256) monitored at the
same steps."""

from __future__ import annotations

from seemrepro.engine.config import MonitorConfig, RunConfig
from seemrepro.experiments.spec import Grid
from seemrepro.runtime import by_profile

DATASET, SUBSET = "rollout/Hopper-v5/20000", 0.1
CRITICS = {"no LN": {"norm": "none"}, "LN": {"norm": "layernorm"}}


def grid(profile: str) -> Grid:
    steps = by_profile(profile, smoke=400, book=3000, paper=100_000)
    seeds = by_profile(profile, smoke=[0], book=[0, 1, 2], paper=list(range(5)))
    every = by_profile(profile, smoke=25, book=50, paper=1000)
    monitors = MonitorConfig(q_every=every, seem_every=every, seem_samples=256,
                             checkpoint_every=1000)
    return Grid.over_seeds(
        {name: RunConfig("td3", DATASET, steps=steps, subset=SUBSET, monitors=monitors,
                         agent={"tau": 1.0, "critic": critic})
         for name, critic in CRITICS.items()}, seeds)
