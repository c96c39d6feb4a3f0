"""T9 (Fig. 1, Figs. 16-18): TD3 without target EMA (τ = 1) or normalization on all of the
walker2d medium-expert dataset, run past Q = 1e6 (the divergence threshold is raised) so
that the directions after t0 can be followed. Parameter snapshots every 250 steps; at the end
each snapshot's cosine similarity to the last one (critic and actor parameters, the policy's
actions on X, the critic's NTK on 256 pairs of X)."""

from __future__ import annotations

from seemrepro.engine.config import MonitorConfig, RunConfig
from seemrepro.experiments.spec import Grid
from seemrepro.runtime import by_profile

DATASET = "seemrepro/walker2d/medium-expert-v0"


def grid(profile: str) -> Grid:
    steps = by_profile(profile, smoke=1000, book=10_000, paper=1_000_000)
    seeds = by_profile(profile, smoke=[0], book=[0, 1, 2], paper=list(range(5)))
    monitors = MonitorConfig(
        q_every=by_profile(profile, smoke=50, book=100, paper=1000), seem_every=0,
        seem_samples=by_profile(profile, smoke=256, book=1024, paper=2560),
        snapshot_every=by_profile(profile, smoke=100, book=250, paper=10_000),
        checkpoint_every=by_profile(profile, smoke=500, book=1000, paper=10_000),
        divergence_threshold=1e30)
    return Grid.over_seeds({"no EMA, no LN": RunConfig("td3", DATASET, steps=steps,
                                                       monitors=monitors,
                                                       agent={"tau": 1.0})}, seeds)
