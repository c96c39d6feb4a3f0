"""A5 (App. F.2, Fig. 12): the ablation "DDPG without EMA" → "+ EMA" → "+ double Q" → "+ LN"
on 10% and 50% of the locomotion data, each step keeping the ones before it.

The paper's X% experiments build on TD3+BC's code, whose only switches for this ablation are
the target rate τ, the number of critics in the target and the critic's normalization; it does
not say whether TD3+BC's behaviour-cloning term stays. We read "DDPG" as TD3+BC with a single
critic in the target: every step keeps the BC term (α = 2.5), target-policy smoothing and the
delayed actor, so "+ double Q" is TD3+BC itself and "+ LN" is TD3+BC with LayerNorm. "Without
EMA" is τ = 1 (the target is the current critic).

The book profile computes one task, hopper/medium-replay (the A1 task where 1% of the data
inflated Q soonest in the probes), 2 seeds, with A1's dataset version, steps and monitors: it
moved to version 1 and 60,000 steps with A1, before any of its runs there. The paper profile
is Fig. 12's nine tasks × 10 seeds × 1M steps."""

from __future__ import annotations

from typing import Any

from seemrepro.engine.config import RunConfig
from seemrepro.experiments.grids import a1
from seemrepro.experiments.spec import Grid
from seemrepro.runtime import by_profile

# each step adds to the one before it
STEPS: dict[str, dict[str, Any]] = {
    "no EMA": {"tau": 1.0, "double_q": False},
    "+ EMA": {"double_q": False},
    "+ double Q": {},
    "+ LN": {"critic": {"norm": "layernorm"}},
}
FRACTIONS = (0.10, 0.50)
COLUMNS = ("task", "X", "step")


def variant_label(task: str, x: float, step: str) -> str:
    return a1.SEP.join((task, a1.fraction_label(x), step))


def tasks(profile: str) -> tuple[str, ...]:
    return by_profile(profile, smoke=("hopper/medium",), book=("hopper/medium-replay",),
                      paper=a1.TASKS)


def grid(profile: str) -> Grid:
    n, watch = a1.steps(profile), a1.monitors(profile)
    return Grid.over_seeds(
        {variant_label(task, x, step): RunConfig("td3bc", a1.dataset(task), steps=n, subset=x,
                                                 monitors=watch, agent=options)
         for task in tasks(profile) for x in FRACTIONS for step, options in STEPS.items()},
        a1.seeds(profile))
