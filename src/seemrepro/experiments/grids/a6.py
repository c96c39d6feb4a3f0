"""A6 (Sec. 5.3, Fig. 11): online SAC on Hopper-v5 and Walker2d-v5 with a target EMA (τ =
0.005, SAC's default), without one (τ = 1: the target is the current critic), and without one
but with LayerNorm on every hidden layer of both critics. Every other setting is SAC's default
(:mod:`seemrepro.rl.agents.sac`): 256-256 networks, Adam 3e-4, batch 256, a learned entropy
temperature, uniform random actions for the first ``start_steps`` environment steps.

One environment step per gradient step, so a run's ``steps`` are both. Ten evaluations per
run, evenly spaced; a run's final return is the mean of its last ``FINAL_EVALUATIONS``."""

from __future__ import annotations

from typing import Any

from seemrepro.engine.config import MonitorConfig, RunConfig
from seemrepro.experiments.spec import Grid
from seemrepro.runtime import by_profile

ENVS = {"hopper": "online/Hopper-v5", "walker2d": "online/Walker2d-v5"}
EMA, NO_EMA, NO_EMA_LN = "SAC (EMA)", "SAC w/o EMA", "SAC w/o EMA + LN"
VARIANTS: dict[str, dict[str, Any]] = {
    EMA: {},
    NO_EMA: {"tau": 1.0},
    NO_EMA_LN: {"tau": 1.0, "critic": {"norm": "layernorm"}},
}
EVALUATIONS = 10
FINAL_EVALUATIONS = 3


def variant_label(env: str, variant: str) -> str:
    return f"{env} · {variant}"


def steps(profile: str) -> int:
    return by_profile(profile, smoke=600, book=50_000, paper=1_000_000)


def seeds(profile: str) -> list[int]:
    # book: two seeds, cut from three for the CPU time of one session (3 × 6 groups × 50,000
    # online steps came to about 140 CPU minutes), before any run had finished
    return by_profile(profile, smoke=[0], book=[0, 1], paper=list(range(5)))


def monitors(profile: str) -> MonitorConfig:
    n = steps(profile)
    return MonitorConfig(q_every=by_profile(profile, smoke=100, book=500, paper=5000),
                         seem_every=0, eval_every=n // EVALUATIONS,
                         eval_episodes=by_profile(profile, smoke=1, book=5, paper=10),
                         checkpoint_every=by_profile(profile, smoke=300, book=5000,
                                                     paper=50_000))


def grid(profile: str) -> Grid:
    start = by_profile(profile, smoke=200, book=5000, paper=10_000)
    return Grid.over_seeds(
        {variant_label(env, name): RunConfig("sac", dataset, steps=steps(profile),
                                             start_steps=start, monitors=monitors(profile),
                                             agent=options)
         for env, dataset in ENVS.items() for name, options in VARIANTS.items()},
        seeds(profile))
