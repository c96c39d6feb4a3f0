"""T6 offline (Theorem 4, Fig. 4): TD3 without target EMA or BC on a 10% subset of random
Hopper-v5 rollouts, with the paper's Adam (β1 = 0.9, β2 = 0.999); the divergence threshold is
raised so that runs keep going past Q = 1e6, because the growth law after t0 is what the
verdict checks. Runs are long because with β2 = 0.999 Adam's second-moment average lags the
growing gradient, and the norm's slope reaches η√P only after many thousand steps."""

from __future__ import annotations

from seemrepro.engine.config import MonitorConfig, RunConfig
from seemrepro.experiments.spec import Grid
from seemrepro.runtime import by_profile

DATASET = "rollout/Hopper-v5/20000"
LEARNING_RATE = 3e-4
STEPS = 20_000


def grid(profile: str) -> Grid:
    steps = by_profile(profile, smoke=STEPS, book=STEPS, paper=100_000)
    seeds = by_profile(profile, smoke=[0], book=[0, 1, 2], paper=list(range(5)))
    config = RunConfig(
        "td3", DATASET, steps=steps, subset=0.1,
        agent={"tau": 1.0, "bc_alpha": 0.0, "adam_betas": [0.9, 0.999],
               "critic_lr": LEARNING_RATE},
        monitors=MonitorConfig(q_every=100, seem_every=0, checkpoint_every=2000,
                               divergence_threshold=1e30))
    return Grid.over_seeds({"no EMA": config}, seeds)
